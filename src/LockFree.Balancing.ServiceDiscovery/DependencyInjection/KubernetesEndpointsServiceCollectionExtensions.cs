using LockFree.Balancing.Kubernetes.Sharing;
using LockFree.Balancing.ServiceDiscovery;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.ServiceDiscovery;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Kubernetes Services, resolved from EndpointSlices, to Microsoft.Extensions.ServiceDiscovery.</summary>
public static class KubernetesEndpointsServiceCollectionExtensions
{
    /// <summary>
    /// Adds an endpoint provider that resolves names such as <c>http://orders.shop</c>, <c>https+http://_grpc.orders.shop</c>
    /// and <c>http://orders</c> to the ready pods of the Kubernetes Service (the <c>_name.</c> prefix picks the Service
    /// port by name) and re-resolves within milliseconds of an EndpointSlice change. Names that are not Services pass to
    /// the other providers. Call it after <c>AddServiceDiscovery()</c>, so that configuration entries still override the
    /// cluster. The watches are those of the container's shared <see cref="KubernetesWatchRegistry"/>
    /// (<see cref="KubernetesWatchRegistryServiceCollectionExtensions.AddKubernetesWatchRegistry"/>, added here when
    /// missing): one watch per Service for the whole process, whichever integrations ask.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes the provider options (default namespace and port name, claimed namespaces, first-sync timeout); <see langword="null"/> for none.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddKubernetesEndpoints(this IServiceCollection services, Action<KubernetesEndpointProviderOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddKubernetesWatchRegistry();
        OptionsBuilder<KubernetesEndpointProviderOptions> options = services.AddOptions<KubernetesEndpointProviderOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KubernetesEndpointProviderOptions>, KubernetesEndpointProviderOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceEndpointProviderFactory, KubernetesEndpointProviderFactory>());
        return services;
    }
}
