using Microsoft.Extensions.Options;

namespace LockFree.Balancing.Kubernetes.DependencyInjection;

/// <summary>
/// In a pod, watcher options the application left at the defaults become <see cref="KubernetesWatcherOptions.InCluster(string)"/>:
/// the API server from the environment, the service account's token file and CA. Explicit settings always win.
/// </summary>
internal sealed class InClusterWatcherDefaults(Func<string, string?> environment) : IPostConfigureOptions<KubernetesWatcherOptions>
{
    public InClusterWatcherDefaults()
        : this(Environment.GetEnvironmentVariable)
    {
    }

    public void PostConfigure(string? name, KubernetesWatcherOptions options)
    {
        bool untouched = options.ApiServer == KubernetesWatcherOptions.KubectlProxyAddress
                         && options.BearerToken is null && options.BearerTokenFile is null
                         && options.CertificateAuthorityFile is null && options.HttpHandler is null;
        if (!untouched || string.IsNullOrEmpty(environment("KUBERNETES_SERVICE_HOST")))
        {
            return;
        }

        KubernetesWatcherOptions inCluster = KubernetesWatcherOptions.InCluster();
        options.ApiServer = inCluster.ApiServer;
        options.BearerTokenFile = inCluster.BearerTokenFile;
        options.CertificateAuthorityFile = inCluster.CertificateAuthorityFile;
    }
}
