using k8s;
using LockFree.Balancing.Kubernetes;
using Microsoft.Extensions.Options;

namespace LockFree.Balancing.KubernetesClient.DependencyInjection;

/// <summary>
/// Maps the configuration once per container and owns the handler the mapping built, disposed with the container
/// (after the watch registry, which the container created later and so disposes first). The options system may build
/// <see cref="KubernetesWatcherOptions"/> more than once (IOptions and IOptionsMonitor cache apart); every instance
/// gets the same mapped values and handler.
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
        options.HttpHandler = mapped.HttpHandler;
    }

    public void Dispose()
    {
        if (_mapped.IsValueCreated)
        {
            _mapped.Value.HttpHandler?.Dispose();
        }
    }
}
