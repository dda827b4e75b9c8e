using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Grpc;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the <c>kubernetes</c> resolver and the LockFree load-balancing policies for grpc-dotnet.</summary>
public static class KubernetesGrpcServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <c>kubernetes</c> resolver, the <c>lockfree_*</c> policies, <c>ring_hash</c> and the shared
    /// <see cref="KubernetesWatchRegistry"/>, so that <c>AddGrpcClient</c> and <c>GrpcChannel.ForAddress</c> (with
    /// <c>ServiceProvider</c>) accept <c>kubernetes:///service.namespace:port</c> addresses. Calling it again only
    /// applies <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes the defaults; <see langword="null"/> for none.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddKubernetesGrpcBalancing(this IServiceCollection services, Action<KubernetesGrpcBalancingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        if (services.Any(d => d.ServiceType == typeof(KubernetesResolverFactory)))
        {
            return services;
        }

        // The shared registry (one watch per Service per container, also used by the HTTP integration).
        services.AddKubernetesWatchRegistry();
        services.AddSingleton(sp => new KubernetesResolverFactory(
            sp.GetRequiredService<KubernetesWatchRegistry>(),
            sp.GetRequiredService<IOptions<KubernetesGrpcBalancingOptions>>().Value));
        services.AddSingleton<ResolverFactory>(sp => sp.GetRequiredService<KubernetesResolverFactory>());
        foreach (string policy in (string[])[LockFreePolicyNames.PowerOfTwoChoices, LockFreePolicyNames.RoundRobin, LockFreePolicyNames.ConsistentHash, LockFreePolicyNames.Maglev])
        {
            // Picks are counted on a meter from the container's IMeterFactory when it has one (AddMetrics; a host has).
            services.AddSingleton<LoadBalancerFactory>(sp => new LockFreeLoadBalancerFactory(
                policy,
                sp.GetRequiredService<IOptions<KubernetesGrpcBalancingOptions>>().Value,
                sp.GetService<TimeProvider>() ?? TimeProvider.System,
                sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        }

        services.AddSingleton<LoadBalancerFactory>(static sp => new LockFree.Balancing.Grpc.RingHash.RingHashLoadBalancerFactory(
            new LockFree.Balancing.Grpc.RingHash.RingHashOptions(), Random.Shared, sp.GetService<System.Diagnostics.Metrics.IMeterFactory>())); // gRFC A42 ring_hash
        return services;
    }
}
