using LockFree.Balancing.Http;
using LockFree.Balancing.Http.DependencyInjection;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the process-wide Kubernetes watch registry.</summary>
public static class KubernetesBalancingServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="KubernetesWatchRegistry"/> singleton (one watch per Service for the whole container) and
    /// the <see cref="KubernetesWatcherOptions"/> it uses. In a pod, options left at their defaults become
    /// <see cref="KubernetesWatcherOptions.InCluster"/>; elsewhere the default is kubectl proxy on 127.0.0.1:8001.
    /// Calling it again only adds <paramref name="configure"/>. A registry registered before this call is kept.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes the watcher options (API server, token, CA, timeouts); <see langword="null"/> for none.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddKubernetesWatchRegistry(this IServiceCollection services, Action<KubernetesWatcherOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        services.AddLogging();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<KubernetesWatcherOptions>, InClusterWatcherDefaults>());
        services.TryAddSingleton(sp => new KubernetesWatchRegistry(sp.GetRequiredService<IOptions<KubernetesWatcherOptions>>().Value));
        services.TryAddSingleton(sp => new KubernetesBalancingProvider(
            sp.GetRequiredService<KubernetesWatchRegistry>(),
            sp.GetRequiredService<IOptionsMonitor<KubernetesBalancingOptions>>(),
            sp.GetRequiredService<ILoggerFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KubernetesBalancingOptions>, KubernetesBalancingOptionsValidator>());
        return services;
    }

    /// <summary>
    /// The balancing set behind the named client registered with <c>AddKubernetesBalancing</c>, e.g. to wait for the
    /// first sync at startup with <see cref="KubernetesBalancing.WaitForEndpointsAsync"/>.
    /// </summary>
    /// <param name="services">The service provider.</param>
    /// <param name="clientName">The <c>HttpClient</c> name (for a typed client, the type's name).</param>
    /// <returns>The balancing set; the same object the client's handlers use.</returns>
    /// <exception cref="InvalidOperationException"><c>AddKubernetesBalancing</c> was not called.</exception>
    /// <exception cref="OptionsValidationException">The client's options are invalid.</exception>
    public static KubernetesBalancing GetKubernetesBalancing(this IServiceProvider services, string clientName)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(clientName);
        return services.GetRequiredService<KubernetesBalancingProvider>().Get(clientName);
    }
}
