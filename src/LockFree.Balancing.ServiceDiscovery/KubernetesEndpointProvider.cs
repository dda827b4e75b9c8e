using System.Net;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ServiceDiscovery;

namespace LockFree.Balancing.ServiceDiscovery;

/// <summary>
/// Resolves one ServiceDiscovery name to the ready pods of a Kubernetes Service, from the process-wide shared watch,
/// and fires a change token the moment the watch publishes a new set.
/// </summary>
/// <remarks>
/// <para>
/// Lifetime: ServiceDiscovery creates one provider per name it resolves and disposes it when the name goes unused.
/// The provider subscribes to the <see cref="KubernetesWatchRegistry"/> on its first <see cref="PopulateAsync"/> (a
/// name answered by configuration never starts a watch) and releases the subscription in <see cref="DisposeAsync"/>;
/// the registry stops the watch after its linger when no one else uses it.
/// </para>
/// <para>
/// Threading: the current <see cref="ReplaceableSet{T}"/> is written by the watch's delivery only (one call at a time,
/// never an older set after a newer one) and published with <see cref="Volatile.Write{T}(ref T, T)"/>; readers take
/// one <see cref="Volatile.Read{T}(ref readonly T)"/>. The subscription is created and released under
/// <see cref="_gate"/>. Failure contract (the DNS provider's): <see cref="PopulateAsync"/> throws when the Service
/// cannot be resolved, and ServiceDiscovery's watcher rethrows it to the caller and retries on the next resolution.
/// </para>
/// </remarks>
internal sealed class KubernetesEndpointProvider : IServiceEndpointProvider
{
    private readonly KubernetesWatchRegistry _registry;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly TimeSpan _initialSyncTimeout;
    private readonly TimeProvider _timeProvider;
    private readonly CancellationTokenSource _disposed = new();
    private readonly TaskCompletionSource _firstSet = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private WatchSubscription? _subscription;   // guarded by _gate
    private bool _isDisposed;                   // guarded by _gate
    private ReplaceableSet<ServiceEndpoint>? _current;              // written by the watch's delivery only

    public KubernetesEndpointProvider(
        ServiceEndpointQuery query,
        ServiceReference service,
        KubernetesWatchRegistry registry,
        TimeSpan initialSyncTimeout,
        TimeProvider timeProvider,
        ILogger logger)
    {
        _name = query.ToString() ?? service.ToString();
        Service = service;
        _registry = registry;
        _initialSyncTimeout = initialSyncTimeout;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The Service and port this provider resolves.</summary>
    public ServiceReference Service { get; }

    /// <summary>Whether the provider holds a subscription (for tests).</summary>
    internal bool IsSubscribed
    {
        get
        {
            lock (_gate)
            {
                return _subscription is not null;
            }
        }
    }

    public async ValueTask PopulateAsync(IServiceEndpointBuilder endpoints, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoints);

        // A provider registered before this one (configuration) answered: it overrides the cluster, as with DNS.
        if (endpoints.Endpoints.Count != 0)
        {
            Log.SkippedResolution(_logger, _name, Service);
            return;
        }

        ReplaceableSet<ServiceEndpoint> set = Volatile.Read(ref _current) ?? await WaitForFirstSetAsync(cancellationToken).ConfigureAwait(false);
        foreach (ServiceEndpoint endpoint in set.Items)
        {
            endpoints.Endpoints.Add(endpoint);
        }

        // An empty set (no ready pod, or no such Service: example.com read as Service 'example' in namespace 'com')
        // adds nothing, so the next providers (DNS, pass-through) may answer; the token still re-resolves on a change.
        endpoints.AddChangeToken(set.ChangeToken);
    }

    public async ValueTask DisposeAsync()
    {
        WatchSubscription? subscription;
        lock (_gate)
        {
            if (_isDisposed)
            {
                return;
            }

            _isDisposed = true;
            subscription = _subscription;
            _subscription = null;
        }

        // Step 1 – wake any resolution still waiting for the first set.
        await _disposed.CancelAsync().ConfigureAwait(false);

        // Step 2 – no delivery after this returns; the registry stops the watch after its linger if it was the last.
        subscription?.Dispose();
        _disposed.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => "Kubernetes";

    private WatchSubscription Subscribe()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_isDisposed, this);
            if (_subscription is null)
            {
                // The registry hands over the current set inside Subscribe when the watch has already synced.
                _subscription = _registry.Subscribe(Service, OnChanged);
                Log.Subscribed(_logger, _name, Service);
            }

            return _subscription;
        }
    }

    private async Task<ReplaceableSet<ServiceEndpoint>> WaitForFirstSetAsync(CancellationToken cancellationToken)
    {
        WatchSubscription subscription = Subscribe();
        if (Volatile.Read(ref _current) is ReplaceableSet<ServiceEndpoint> ready)
        {
            return ready;
        }

        KubernetesEndpointWatcher watcher = subscription.Watcher;
        using var limit = new CancellationTokenSource(_initialSyncTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, limit.Token, _disposed.Token);

        // Before the first set, a recorded error is the answer to this resolution: 403 names the RBAC verb, 404 the
        // missing API, a refused connection the API server's address. The watch keeps retrying in the background.
        Task<KubernetesWatchStatus> failed = watcher.WaitForStatusAsync(static s => s.Version == 0 && s.LastError is not null, linked.Token);
        Task first = _firstSet.Task;
        try
        {
            Task winner = await Task.WhenAny(first, failed).ConfigureAwait(false);
            if (winner == first || Volatile.Read(ref _current) is not null)
            {
                return Volatile.Read(ref _current)!;
            }

            if (failed.IsCompletedSuccessfully && failed.Result.LastError is SyncError error)
            {
                Log.ResolutionFailed(_logger, _name, Service, error);
                throw new KubernetesApiException(error);
            }

            cancellationToken.ThrowIfCancellationRequested();
            ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
            string last = watcher.Status.LastError is SyncError lastError ? $" Last error: {lastError}" : string.Empty;
            throw new TimeoutException(
                $"The EndpointSlice watch of Service {Service} gave no answer within {_initialSyncTimeout.TotalSeconds:0.###} s "
                + $"(KubernetesEndpointProviderOptions.InitialSyncTimeout); is the API server reachable?{last}");
        }
        finally
        {
            // Stops the status waiter when the set won.
            await linked.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The watch's delivery: converts the set once, publishes it, then fires the previous set's token.</summary>
    private void OnChanged(IReadOnlyList<Endpoint> endpoints)
    {
        // PERF: conversion happens here, once per change, off the request path; every resolution reuses the array.
        var converted = new ServiceEndpoint[endpoints.Count];
        for (int i = 0; i < converted.Length; i++)
        {
            converted[i] = ToServiceEndpoint(endpoints[i]);
        }

        // Step 1 – publish the new set with its own token.
        var set = new ReplaceableSet<ServiceEndpoint>(converted);
        ReplaceableSet<ServiceEndpoint>? previous = Interlocked.Exchange(ref _current, set);

        // Step 2 – then fire the old token: a resolution it triggers reads the new set (never the other order, or a
        // re-resolution could read the old set and wait on a token that never fires again).
        previous?.MarkReplaced();
        _firstSet.TrySetResult();
        Log.EndpointsChanged(_logger, _name, Service, converted.Length);
    }

    private ServiceEndpoint ToServiceEndpoint(Endpoint endpoint)
    {
        EndPoint address = IPAddress.TryParse(endpoint.Host, out IPAddress? ip)
            ? new IPEndPoint(ip, endpoint.Port)
            : new DnsEndPoint(endpoint.Host, endpoint.Port); // AddressFamilyPreference.Fqdn slices only
        ServiceEndpoint result = ServiceEndpoint.Create(address);
        result.Features.Set<IServiceEndpointProvider>(this);
        result.Features.Set<IKubernetesEndpointFeature>(new KubernetesEndpointFeature(endpoint, Service));
        return result;
    }
}
