using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// The grpc-dotnet resolver of <c>kubernetes:</c> addresses: <c>kubernetes:///svc:port</c>, <c>kubernetes:///svc.ns:port</c>,
/// <c>kubernetes:///svc.ns.svc.cluster.local:portname</c>, <c>kubernetes://ns/svc:port</c> (kuberesolver's forms; numeric
/// or named ports). Each channel subscribes to the shared watch of its Service in the <see cref="KubernetesWatchRegistry"/>.
/// </summary>
/// <remarks>
/// Thread-safe. <see cref="Create"/> throws <see cref="ServiceReferenceFormatException"/> (with
/// <see cref="ServiceReferenceFormatException.Error"/>) for a target that is not one of the forms, so
/// <c>GrpcChannel.ForAddress</c> fails at once with a typed error.
/// </remarks>
public sealed class KubernetesResolverFactory : ResolverFactory
{
    private readonly KubernetesWatchRegistry _registry;
    private readonly KubernetesGrpcBalancingOptions _options;

    /// <summary>Creates the factory.</summary>
    /// <param name="registry">The process-wide watch registry (shared with the HTTP integration).</param>
    /// <param name="options">Defaults; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="registry"/> is <see langword="null"/>.</exception>
    public KubernetesResolverFactory(KubernetesWatchRegistry registry, KubernetesGrpcBalancingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
        _options = options ?? new KubernetesGrpcBalancingOptions();
    }

    /// <summary>The URI scheme: <c>kubernetes</c>.</summary>
    public override string Name => "kubernetes";

    /// <summary>Creates the resolver of one channel.</summary>
    /// <param name="options">The channel's resolver options.</param>
    /// <returns>The resolver.</returns>
    /// <exception cref="ServiceReferenceFormatException">The address is not one of the accepted forms.</exception>
    public override Resolver Create(ResolverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ServiceReference service = ServiceReference.Parse(options.Address.OriginalString, _options.DefaultNamespace);
        string authority = _options.Authority?.Invoke(service) ?? service.Name + "." + service.Namespace;
        ServiceConfig? defaultConfig = null;
        if (_options.DefaultPolicy is { } policy && !options.DisableServiceConfig && options.ChannelOptions.ServiceConfig is null)
        {
            // Only when the channel has no service config: a resolver's config would override the channel's own.
            defaultConfig = new ServiceConfig { LoadBalancingConfigs = { new LoadBalancingConfig(policy) } };
        }

        return new KubernetesResolver(_registry, service, authority, defaultConfig);
    }
}
