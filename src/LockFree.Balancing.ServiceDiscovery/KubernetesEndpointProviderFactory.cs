using System.Diagnostics.CodeAnalysis;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.ServiceDiscovery;

namespace LockFree.Balancing.ServiceDiscovery;

/// <summary>
/// Claims ServiceDiscovery names that are Kubernetes Services (<c>orders</c>, <c>orders.shop</c>,
/// <c>orders.shop.svc.cluster.local</c>, with an optional <c>_port.</c> prefix) and creates a
/// <see cref="KubernetesEndpointProvider"/> for each; every other name (IP literals, <c>localhost</c>,
/// <c>api.github.com</c>) is left to the configuration, DNS and pass-through providers.
/// </summary>
/// <remarks>Stateless after construction; thread-safe. Creating a provider starts nothing: the watch starts on the first resolution.</remarks>
internal sealed class KubernetesEndpointProviderFactory : IServiceEndpointProviderFactory
{
    private readonly KubernetesWatchRegistry _registry;
    private readonly ServiceNameMapper _mapper;
    private readonly TimeSpan _initialSyncTimeout;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    public KubernetesEndpointProviderFactory(
        KubernetesWatchRegistry registry,
        IOptions<KubernetesEndpointProviderOptions> options,
        TimeProvider? timeProvider = null,
        ILogger<KubernetesEndpointProvider>? logger = null)
        : this(registry, options.Value, timeProvider, logger, KubernetesWatcherOptions.ReadServiceAccountNamespace)
    {
    }

    internal KubernetesEndpointProviderFactory(
        KubernetesWatchRegistry registry,
        KubernetesEndpointProviderOptions options,
        TimeProvider? timeProvider,
        ILogger? logger,
        Func<string, string?> readNamespace)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        _registry = registry;
        string defaultNamespace = options.DefaultNamespace
            ?? readNamespace(KubernetesWatcherOptions.ServiceAccountDirectory)
            ?? ServiceReference.DefaultNamespace;
        _mapper = new ServiceNameMapper(defaultNamespace, options.DefaultPortName, options.Namespaces);
        _initialSyncTimeout = options.InitialSyncTimeout;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The namespace of one-label names, as resolved at construction.</summary>
    internal string DefaultNamespace => _mapper.DefaultNamespace;

    public bool TryCreateProvider(ServiceEndpointQuery query, [NotNullWhen(true)] out IServiceEndpointProvider? provider)
    {
        ArgumentNullException.ThrowIfNull(query);
        string name = query.ToString() ?? query.ServiceName;
        if (_mapper.TryMap(query, out string? reason) is not ServiceReference service)
        {
            Log.NamePassed(_logger, name, reason ?? "not a Service name");
            provider = null;
            return false;
        }

        Log.NameClaimed(_logger, name, service);
        provider = new KubernetesEndpointProvider(query, service, _registry, _initialSyncTimeout, _timeProvider, _logger);
        return true;
    }
}
