using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.DependencyInjection;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the process-wide Kubernetes watch registry that every LockFree integration (HTTP, gRPC, ...) shares.</summary>
public static class KubernetesWatchRegistryServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="KubernetesWatchRegistry"/> singleton (one watch per Service for the whole container,
    /// whichever integrations subscribe) and the <see cref="KubernetesWatcherOptions"/> it uses. In a pod, options left
    /// at their defaults become <see cref="KubernetesWatcherOptions.InCluster(string)"/>; elsewhere the default is kubectl proxy
    /// on 127.0.0.1:8001. The watchers log through the container's <c>ILoggerFactory</c> and read time from the
    /// container's <see cref="TimeProvider"/> when one is registered, unless the options name their own. The options are
    /// validated when the host starts. Calling it again only adds <paramref name="configure"/>. A registry registered
    /// before this call is kept.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes the watcher options (API server, token, CA, timeouts); <see langword="null"/> for none.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddKubernetesWatchRegistry(this IServiceCollection services, Action<KubernetesWatcherOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<KubernetesWatcherOptions> options = services.AddOptions<KubernetesWatcherOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<KubernetesWatcherOptions>, InClusterWatcherDefaults>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<KubernetesWatcherOptions>, ContainerWatcherDefaults>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KubernetesWatcherOptions>, KubernetesWatcherOptionsValidator>());
        services.TryAddSingleton(static sp => new KubernetesWatchRegistry(sp.GetRequiredService<IOptions<KubernetesWatcherOptions>>().Value));
        return services;
    }
}
