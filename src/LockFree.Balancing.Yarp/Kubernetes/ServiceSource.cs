using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Yarp.Kubernetes;

/// <summary>
/// One Service's subscription to the shared watch on behalf of the YARP resolver: keeps the current
/// <see cref="ReplaceableSet{T}"/> of <see cref="Endpoint"/>s and fires the previous one's token when a new set arrives.
/// </summary>
/// <remarks>
/// The current set is written by the watch's delivery only (one call at a time, never an older set after a newer one)
/// and published with <see cref="Interlocked.Exchange{T}(ref T, T)"/>; readers take one volatile read.
/// </remarks>
internal sealed class ServiceSource : IDisposable
{
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _firstSet = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WatchSubscription? _subscription;
    private ReplaceableSet<Endpoint>? _current;

    public ServiceSource(ServiceReference service, ILogger logger)
    {
        Service = service;
        _logger = logger;
    }

    public ServiceReference Service { get; }

    public ReplaceableSet<Endpoint>? Current => Volatile.Read(ref _current);

    /// <summary>Subscribes (once) to <paramref name="registry"/>; the registry delivers the current set at once when the watch already synced.</summary>
    public void Start(KubernetesWatchRegistry registry)
    {
        _subscription = registry.Subscribe(Service, OnChanged);
        Log.ServiceSubscribed(_logger, Service);
    }

    /// <summary>The current set, waiting up to <paramref name="timeout"/> for the first one.</summary>
    /// <exception cref="KubernetesApiException">The watch's first answer was an error.</exception>
    /// <exception cref="TimeoutException">No answer within <paramref name="timeout"/>.</exception>
    public async Task<ReplaceableSet<Endpoint>> GetAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (Current is ReplaceableSet<Endpoint> ready)
        {
            return ready;
        }

        KubernetesEndpointWatcher watcher = _subscription!.Watcher;
        using var limit = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, limit.Token);

        // An error before the first sync (403, 404, refused connection) fails at once; the watch keeps retrying.
        Task<KubernetesWatchStatus> failed = watcher.WaitForStatusAsync(static s => s.Version == 0 && s.LastError is not null, linked.Token);
        try
        {
            await Task.WhenAny(_firstSet.Task, failed).ConfigureAwait(false);
            if (Current is ReplaceableSet<Endpoint> set)
            {
                return set;
            }

            if (failed.IsCompletedSuccessfully && failed.Result.LastError is SyncError error)
            {
                throw new KubernetesApiException(error);
            }

            cancellationToken.ThrowIfCancellationRequested();
            string last = watcher.Status.LastError is SyncError lastError ? $" Last error: {lastError}" : string.Empty;
            throw new TimeoutException(
                $"The EndpointSlice watch of Service {Service} gave no answer within {timeout.TotalSeconds:0.###} s "
                + $"(KubernetesDestinationOptions.InitialSyncTimeout); is the API server reachable?{last}");
        }
        finally
        {
            await linked.CancelAsync().ConfigureAwait(false);
        }
    }

    public void Dispose() => _subscription?.Dispose();

    private void OnChanged(IReadOnlyList<Endpoint> endpoints)
    {
        // Step 1 – publish the new set with its own token.
        var set = new ReplaceableSet<Endpoint>([.. endpoints]);
        ReplaceableSet<Endpoint>? previous = Interlocked.Exchange(ref _current, set);

        // Step 2 – then fire the old token: the re-resolution it triggers reads the new set.
        previous?.MarkReplaced();
        _firstSet.TrySetResult();
        Log.ServiceChanged(_logger, Service, set.Items.Length);
    }
}
