using System.Diagnostics.Metrics;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;
using LockFree.Balancing.Yarp;
using LockFree.Balancing.Yarp.Kubernetes;
using LockFree.Balancing.Yarp.Policies;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.ServiceDiscovery;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds LockFree load-balancing policies and Kubernetes Service destinations to YARP.</summary>
public static class LockFreeReverseProxyBuilderExtensions
{
    /// <summary>
    /// Registers the LockFree policies (<see cref="LockFreeLoadBalancingPolicies"/>: consistent hash, Maglev, in-flight
    /// power of two choices, weighted round robin), a configuration filter that checks their metadata
    /// (<see cref="LockFreeClusterMetadata"/>) whenever the configuration loads, and a wrapper around YARP's forwarder that
    /// releases each request's in-flight count when proxying ends. Select a policy per cluster with
    /// <c>LoadBalancingPolicy</c>. The policies read time from the container's <see cref="TimeProvider"/> when one is
    /// registered and log through its <see cref="ILoggerFactory"/>. Calling it twice registers once.
    /// </summary>
    /// <param name="builder">The reverse-proxy builder from <c>AddReverseProxy()</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">No <see cref="IHttpForwarder"/> is registered (the builder did not come from <c>AddReverseProxy()</c>).</exception>
    public static IReverseProxyBuilder AddLockFreeLoadBalancing(this IReverseProxyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        if (services.Any(static d => d.ServiceType == typeof(LockFreePoliciesMarker)))
        {
            return builder;
        }

        ServiceDescriptor forwarder = services.LastOrDefault(static d => d.ServiceType == typeof(IHttpForwarder) && !d.IsKeyedService)
            ?? throw new InvalidOperationException("AddLockFreeLoadBalancing found no IHttpForwarder registration: call it on the builder returned by AddReverseProxy().");

        services.AddSingleton<LockFreePoliciesMarker>();
        services.AddSingleton<YarpMetricsHolder>();
        foreach (PolicyKind kind in Enum.GetValues<PolicyKind>())
        {
            services.AddSingleton<ILoadBalancingPolicy>(sp => new LockFreeLoadBalancingPolicy(kind, TimeOf(sp), LoggerOf(sp), MetricsOf(sp)));
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProxyConfigFilter, LockFreeConfigFilter>());

        // The release hook: YARP's forwarder, wrapped. Its own registration is replaced by the wrapper around it.
        services.Remove(forwarder);
        services.AddSingleton<IHttpForwarder>(sp => new LeaseReleasingForwarder(CreateInner(sp, forwarder), sp.GetServices<ILoadBalancingPolicy>()));
        return builder;
    }

    /// <summary>
    /// Resolves destinations whose address names a Kubernetes Service — <c>k8s://orders.shop:http</c> (forwarded over
    /// http) or <c>k8s+https://orders.shop:https</c>, with an optional path — to one destination per ready pod, and
    /// reloads them within milliseconds of an EndpointSlice change. Other destinations pass through untouched. The
    /// watches are those of the container's shared <see cref="KubernetesWatchRegistry"/>
    /// (<see cref="KubernetesWatchRegistryServiceCollectionExtensions.AddKubernetesWatchRegistry"/>, added here when
    /// missing): one watch per Service for the whole process. Other destinations go to the destination resolver
    /// registered before this call (call YARP's <c>AddDnsDestinationResolver</c> first to have DNS names resolved too;
    /// a resolver registered after this call replaces this one, as YARP's registrations do). Options are validated
    /// when the host starts.
    /// </summary>
    /// <param name="builder">The reverse-proxy builder from <c>AddReverseProxy()</c>.</param>
    /// <param name="configure">Changes the options (default namespace, first-sync timeout); <see langword="null"/> for none.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static IReverseProxyBuilder AddKubernetesDestinations(this IReverseProxyBuilder builder, Action<KubernetesDestinationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        services.AddKubernetesWatchRegistry();
        OptionsBuilder<KubernetesDestinationOptions> options = services.AddOptions<KubernetesDestinationOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KubernetesDestinationOptions>, KubernetesDestinationOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProxyConfigFilter, LockFreeConfigFilter>());
        if (services.Any(d => d.ServiceType == typeof(KubernetesDestinationResolver)))
        {
            return builder; // a second call: the resolver and its chain are registered already
        }

        // The resolver registered so far (YARP's no-op one, or its DNS resolver) answers for the other destinations.
        ServiceDescriptor? previous = services.LastOrDefault(d => d.ServiceType == typeof(IDestinationResolver));
        services.RemoveAll<IDestinationResolver>();
        services.AddSingleton(sp => new KubernetesDestinationResolver(
            sp.GetRequiredService<KubernetesWatchRegistry>(),
            sp.GetRequiredService<IOptions<KubernetesDestinationOptions>>().Value,
            TimeOf(sp),
            LoggerOf(sp),
            KubernetesWatcherOptions.ReadServiceAccountNamespace,
            previous is null ? null : CreateResolver(sp, previous)));
        services.AddSingleton<IDestinationResolver>(static sp => sp.GetRequiredService<KubernetesDestinationResolver>());
        return builder;
    }

    private static IDestinationResolver CreateResolver(IServiceProvider services, ServiceDescriptor descriptor) => descriptor switch
    {
        { ImplementationInstance: IDestinationResolver instance } => instance,
        { ImplementationFactory: { } factory } => (IDestinationResolver)factory(services),
        { ImplementationType: { } type } => (IDestinationResolver)ActivatorUtilities.CreateInstance(services, type),
        _ => throw new InvalidOperationException($"The IDestinationResolver registration {descriptor} cannot be chained."),
    };

    // One meter per container (its IMeterFactory, which a host has), shared by the four policies.
    private static YarpMetrics MetricsOf(IServiceProvider services) => services.GetRequiredService<YarpMetricsHolder>().Metrics;

    private static TimeProvider TimeOf(IServiceProvider services) => services.GetService<TimeProvider>() ?? TimeProvider.System;

    private static ILogger LoggerOf(IServiceProvider services)
        => services.GetService<ILoggerFactory>()?.CreateLogger("LockFree.Balancing.Yarp") ?? NullLogger.Instance;

    private static IHttpForwarder CreateInner(IServiceProvider services, ServiceDescriptor descriptor) => descriptor switch
    {
        { ImplementationInstance: IHttpForwarder instance } => instance,
        { ImplementationFactory: { } factory } => (IHttpForwarder)factory(services),
        { ImplementationType: { } type } => (IHttpForwarder)ActivatorUtilities.CreateInstance(services, type),
        _ => throw new InvalidOperationException($"The IHttpForwarder registration {descriptor} cannot be wrapped."),
    };

    /// <summary>The container's <see cref="YarpMetrics"/>, created once from its <see cref="IMeterFactory"/>.</summary>
    private sealed class YarpMetricsHolder(IServiceProvider services)
    {
        public YarpMetrics Metrics { get; } = YarpMetrics.Create(services.GetService<IMeterFactory>());
    }

    /// <summary>Marks the container as holding the LockFree policies, so a second call registers nothing.</summary>
    private sealed class LockFreePoliciesMarker;
}
