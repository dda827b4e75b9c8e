using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.ServiceDiscovery;

namespace LockFree.Balancing.Yarp.Kubernetes;

/// <summary>
/// YARP's <see cref="IDestinationResolver"/> for Kubernetes Services: a destination whose address is
/// <c>k8s://name.namespace[:port][/path]</c> (or <c>k8s+https://...</c>) becomes one destination per ready pod,
/// <c>{id}/{pod ip}:{port}</c> at <c>http://{pod ip}:{port}{path}</c>, with the original destination's other settings
/// (host, health, metadata). Every other destination goes to the resolver that was registered before this one
/// (YARP's DNS resolver when <c>AddDnsDestinationResolver</c> came first; YARP's no-op resolver by default), whose
/// answer and change token are merged with ours.
/// </summary>
/// <remarks>
/// <para>
/// Watches come from the container's shared <see cref="KubernetesWatchRegistry"/>: one watch per Service and port for
/// the whole process, whichever integrations ask. The resolver subscribes on the first resolution of a Service and
/// keeps the subscription until it is disposed with the container, so a reload never restarts a watch.
/// </para>
/// <para>
/// Changes: every resolution returns a change token that fires when any of its Services publishes a new set; YARP then
/// reloads that configuration source and resolves again, reading the newest sets. The watch's delivery only swaps a
/// reference and fires a token, so it is never held up by YARP.
/// </para>
/// <para>Threading: thread-safe. The table of Services is guarded by <see cref="_gate"/>; sets are read lock-free.</para>
/// </remarks>
internal sealed class KubernetesDestinationResolver : IDestinationResolver, IDisposable
{
    private readonly KubernetesWatchRegistry _registry;
    private readonly string _defaultNamespace;
    private readonly TimeSpan _initialSyncTimeout;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly IDestinationResolver? _next;
    private readonly Lock _gate = new();
    private readonly Dictionary<ServiceReference, ServiceSource> _services = [];   // guarded by _gate
    private bool _disposed;                                                        // guarded by _gate

    public KubernetesDestinationResolver(
        KubernetesWatchRegistry registry,
        KubernetesDestinationOptions options,
        TimeProvider timeProvider,
        ILogger logger,
        Func<string, string?> readNamespace,
        IDestinationResolver? next = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        _registry = registry;
        _defaultNamespace = options.DefaultNamespace
            ?? readNamespace(KubernetesWatcherOptions.ServiceAccountDirectory)
            ?? ServiceReference.DefaultNamespace;
        _initialSyncTimeout = options.InitialSyncTimeout;
        _timeProvider = timeProvider;
        _logger = logger;
        _next = next;
    }

    /// <summary>The namespace of addresses that name none, as resolved at construction.</summary>
    internal string DefaultNamespace => _defaultNamespace;

    /// <summary>The number of Services the resolver is subscribed to (for tests).</summary>
    internal int ServiceCount
    {
        get
        {
            lock (_gate)
            {
                return _services.Count;
            }
        }
    }

    public async ValueTask<ResolvedDestinationCollection> ResolveDestinationsAsync(IReadOnlyDictionary<string, DestinationConfig> destinations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        var results = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase);
        List<IChangeToken>? tokens = null;
        Dictionary<string, DestinationConfig>? others = null;
        foreach ((string id, DestinationConfig destination) in destinations)
        {
            if (!KubernetesDestinationAddress.IsKubernetes(destination.Address))
            {
                // Not a Service: the resolver registered before this one answers for it (untouched without one).
                if (_next is null)
                {
                    results[id] = destination;
                }
                else
                {
                    (others ??= new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase))[id] = destination;
                }

                continue;
            }

            if (!KubernetesDestinationAddress.TryParse(destination.Address, _defaultNamespace, out KubernetesDestinationAddress? address, out string? problem))
            {
                throw new LockFreeConfigException(null, "Address", $"destination '{id}': {problem}");
            }

            KubernetesDestinationAddress? health = null;
            if (KubernetesDestinationAddress.IsKubernetes(destination.Health)
                && !KubernetesDestinationAddress.TryParse(destination.Health!, _defaultNamespace, out health, out problem))
            {
                throw new LockFreeConfigException(null, "Health", $"destination '{id}' health address: {problem}");
            }

            ReplaceableSet<Endpoint> set;
            try
            {
                set = await SourceOf(address.Service).GetAsync(_initialSyncTimeout, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is KubernetesApiException or TimeoutException)
            {
                Log.ResolutionFailed(_logger, id, destination.Address, ex.Message);
                throw;
            }

            (tokens ??= []).Add(set.ChangeToken);
            foreach (Endpoint endpoint in set.Items)
            {
                results[id + "/" + endpoint.Key] = destination with
                {
                    Address = address.For(endpoint),
                    Health = health is null ? destination.Health : health.For(endpoint),
                };
            }
        }

        if (others is not null)
        {
            ResolvedDestinationCollection resolved = await _next!.ResolveDestinationsAsync(others, cancellationToken).ConfigureAwait(false);
            foreach ((string id, DestinationConfig destination) in resolved.Destinations)
            {
                results[id] = destination;
            }

            if (resolved.ChangeToken is { } token)
            {
                (tokens ??= []).Add(token);
            }
        }

        IChangeToken? changeToken = tokens switch
        {
            null => null,
            [IChangeToken one] => one,
            _ => new CompositeChangeToken(tokens),
        };
        return new ResolvedDestinationCollection(results, changeToken);
    }

    public void Dispose()
    {
        ServiceSource[] sources;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            sources = [.. _services.Values];
            _services.Clear();
        }

        foreach (ServiceSource source in sources)
        {
            source.Dispose();
        }
    }

    private ServiceSource SourceOf(ServiceReference service)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_services.TryGetValue(service, out ServiceSource? source))
            {
                source = new ServiceSource(service, _logger);
                source.Start(_registry);
                _services.Add(service, source);
            }

            return source;
        }
    }
}
