using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// The <c>kubernetes</c> resolver of one channel: a subscription to the process-wide watch of its Service, whose sets
/// are pushed to grpc-dotnet as they arrive (nothing polls).
/// </summary>
/// <remarks>
/// <para>
/// Threading: sets arrive on the watch's task, one at a time (the subscription's contract); sync errors before the
/// first set arrive on a status task. <see cref="_publishing"/> orders the two so that a failure is never published
/// after a set. <see cref="Refresh"/> does nothing and never starts a watch: there is one per Service per registry,
/// started by <see cref="Start"/>, and it pushes every change.
/// </para>
/// <para>
/// Before the first set, calls wait (the channel has no result yet) until the watch syncs or fails; a failure
/// (RBAC 403, API server down) is published as <see cref="StatusCode.Unavailable"/> with the watcher's own text.
/// After a set, errors are not published: the last good set stays in force while the watcher retries.
/// </para>
/// </remarks>
internal sealed class KubernetesResolver : Resolver
{
    private readonly KubernetesWatchRegistry _registry;
    private readonly ServiceReference _service;
    private readonly string _authority;
    private readonly ServiceConfig? _defaultServiceConfig;
    private readonly CancellationTokenSource _stop = new();
    // Lock order: grpc-dotnet calls Start, Refresh and Dispose under its connection manager's lock, and the listener
    // takes that lock. So _gate (Start, Dispose) is never held while calling out, and _publishing (held while calling
    // the listener) is never taken on a path grpc-dotnet calls under its lock.
    private readonly Lock _gate = new();
    private readonly Lock _publishing = new();
    private Action<ResolverResult>? _listener;     // set once by Start
    private WatchSubscription? _subscription;      // guarded by _gate
    private bool _hasSet;                          // guarded by _publishing
    private volatile bool _disposed;               // written under _gate

    public KubernetesResolver(KubernetesWatchRegistry registry, ServiceReference service, string authority, ServiceConfig? defaultServiceConfig)
    {
        _registry = registry;
        _service = service;
        _authority = authority;
        _defaultServiceConfig = defaultServiceConfig;
    }

    public ServiceReference Service => _service;

    public override void Start(Action<ResolverResult> listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        if (Interlocked.CompareExchange(ref _listener, listener, null) is not null)
        {
            throw new InvalidOperationException("The resolver was already started.");
        }

        // The subscription may deliver the current set synchronously, before Subscribe returns (or leave it to the watch's
        // thread if that one is delivering: see WatchSubscription).
        WatchSubscription subscription = _registry.Subscribe(_service, OnEndpoints);
        lock (_gate)
        {
            if (_disposed)
            {
                subscription.Dispose();
                return;
            }

            _subscription = subscription;
        }

        _ = WatchErrorsAsync(subscription.Watcher, _stop.Token);
    }

    public override void Refresh()
    {
        // Push-based: the watch publishes every change as it sees it, and it retries on its own. A refresh (grpc-dotnet
        // asks for one when a subchannel fails) has nothing to fetch, and it must not start a second watch. It also
        // must not take _publishing: grpc-dotnet calls it under its connection manager's lock, which Publish waits for
        // while holding _publishing (a lock-order inversion).
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            WatchSubscription? subscription;
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                subscription = _subscription;
                _subscription = null;
            }

            _stop.Cancel();
            subscription?.Dispose();
            _stop.Dispose();
        }

        base.Dispose(disposing);
    }

    private void OnEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        ResolverResult result;
        if (endpoints.Count == 0)
        {
            result = ResolverResult.ForFailure(new Status(StatusCode.Unavailable, $"The Service '{_service}' has no ready endpoints."));
        }
        else
        {
            var addresses = new BalancerAddress[endpoints.Count];
            for (int i = 0; i < addresses.Length; i++)
            {
                addresses[i] = ToAddress(endpoints[i], _authority);
            }

            result = ResolverResult.ForResult(addresses, _defaultServiceConfig, serviceConfigStatus: null);
        }

        Publish(result, isSet: true);
    }

    private void Publish(ResolverResult result, bool isSet)
    {
        lock (_publishing)
        {
            // A failure after the first set would drop the last good set; the watcher keeps retrying meanwhile.
            if (_disposed || (!isSet && _hasSet))
            {
                return;
            }

            _hasSet |= isSet;
            // Under _publishing: a set and a failure racing must reach the channel in the order they were decided.
            // Not under _gate: grpc-dotnet holds its lock when it calls Start or Dispose, which take _gate, and the
            // listener waits for that lock (a set delivered while the channel starts the resolver deadlocked both).
            _listener!(result);
        }
    }

    private async Task WatchErrorsAsync(KubernetesEndpointWatcher watcher, CancellationToken cancellationToken)
    {
        SyncError? published = null;
        try
        {
            while (true)
            {
                // Woken by the watcher's own status publication (no polling): a new error, or the first sync.
                KubernetesWatchStatus status = await watcher.WaitForStatusAsync(
                    s => s.Version > 0 || (s.LastError is not null && !ReferenceEquals(s.LastError, published)),
                    cancellationToken).ConfigureAwait(false);
                if (status.Version > 0)
                {
                    return; // synced: the subscription publishes sets from now on
                }

                published = status.LastError!;
                Publish(ResolverResult.ForFailure(new Status(StatusCode.Unavailable,
                    $"Kubernetes endpoints of '{_service}' are not available yet: {published}")), isSet: false);
            }
        }
        catch (OperationCanceledException)
        {
            // disposed
        }
        catch (ObjectDisposedException)
        {
            // the watcher stopped with the registry
        }
    }

    internal static BalancerAddress ToAddress(Endpoint endpoint, string authority)
    {
        var address = new BalancerAddress(endpoint.Host, endpoint.Port);
        address.Attributes.Set(KubernetesBalancerAttributes.Endpoint, endpoint);
        address.Attributes.Set(KubernetesBalancerAttributes.Weight, endpoint.Weight);
        if (endpoint.Zone is { } zone)
        {
            address.Attributes.Set(KubernetesBalancerAttributes.Zone, zone);
        }

        if (endpoint.NodeName is { } node)
        {
            address.Attributes.Set(KubernetesBalancerAttributes.NodeName, node);
        }

        address.Attributes.Set(KubernetesBalancerAttributes.ZoneHints, endpoint.ZoneHints);
        address.Attributes.Set(KubernetesBalancerAttributes.HostOverride, authority);
        return address;
    }
}
