using k8s;
using LockFree.Balancing.Kubernetes;
using Microsoft.Extensions.Options;

namespace LockFree.Balancing.KubernetesClient.DependencyInjection;

/// <summary>
/// Maps the configuration once per container and owns what the mapping built (the client certificate), disposed with
/// the container (after the watch registry, which the container created later and so disposes first). The options
/// system may build <see cref="KubernetesWatcherOptions"/> more than once (IOptions and IOptionsMonitor cache apart);
/// every instance gets the same mapped values, credential source and certificate.
/// </summary>
internal sealed class MappedKubernetesClientOptions(Func<KubernetesClientConfiguration> configuration, bool allowInsecureSkipTlsVerify)
    : IConfigureOptions<KubernetesWatcherOptions>, IDisposable
{
    private readonly Lazy<KubernetesWatcherOptions> _mapped = new(() => configuration().ToWatcherOptions(allowInsecureSkipTlsVerify), LazyThreadSafetyMode.ExecutionAndPublication);

    public void Configure(KubernetesWatcherOptions options)
    {
        KubernetesWatcherOptions mapped = _mapped.Value;
        options.ApiServer = mapped.ApiServer;
        options.BearerToken = mapped.BearerToken;
        options.CertificateAuthorities = mapped.CertificateAuthorities;
        options.InsecureSkipTlsVerify = mapped.InsecureSkipTlsVerify;
        options.ClientCertificate = mapped.ClientCertificate;
        options.CredentialSource = mapped.CredentialSource;
        options.TlsServerName = mapped.TlsServerName;
        options.DisableHttp2 = mapped.DisableHttp2;
    }

    public void Dispose()
    {
        if (_mapped.IsValueCreated)
        {
            _mapped.Value.ClientCertificate?.Dispose();
        }
    }
}
