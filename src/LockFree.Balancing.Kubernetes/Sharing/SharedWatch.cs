namespace LockFree.Balancing.Kubernetes.Sharing;

/// <summary>One running watch and its subscribers, owned by a <see cref="KubernetesWatchRegistry"/>.</summary>
/// <remarks>
/// <see cref="Subscribers"/> and the linger fields are written under the registry's lock only. The published set
/// is an immutable <see cref="PublishedSet"/> swapped with a volatile write by the watch loop (its only writer).
/// </remarks>
internal sealed class SharedWatch
{
    private readonly KubernetesWatchRegistry _registry;

    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lifecycle = new();
    private KubernetesEndpointWatcher? _watcher;     // guarded by _lifecycle
    private Exception? _startFailure;                // written before _started is set
    private bool _stopped;                           // guarded by _lifecycle
    private PublishedSet? _current;                  // written by the watch loop only
    private long _version;                           // written by the watch loop only
    private ITimer? _lingerTimer;                    // guarded by the registry's lock

    public SharedWatch(KubernetesWatchRegistry registry, ServiceReference service)
    {
        _registry = registry;
        Service = service;
    }

    public ServiceReference Service { get; }

    public KubernetesWatchRegistry Registry => _registry;

    /// <summary>The current subscribers: an immutable array replaced under the registry's lock, read without it.</summary>
    public WatchSubscription[] Subscribers
    {
        get => Volatile.Read(ref field);
        set => Volatile.Write(ref field, value);
    } = [];

    /// <summary>Bumped whenever a linger starts or is cancelled, so a timer that fires late knows it is stale.</summary>
    public long LingerGeneration { get; private set; }

    public KubernetesEndpointWatcher? Watcher
    {
        get
        {
            lock (_lifecycle)
            {
                return _watcher;
            }
        }
    }

    public void Start(KubernetesEndpointWatcher watcher)
    {
        bool stopNow;
        lock (_lifecycle)
        {
            _watcher = watcher;
            stopNow = _stopped;
            if (!stopNow)
            {
                watcher.StartBackgroundSync();
            }
        }

        _started.TrySetResult();
        if (stopNow)
        {
            // The registry was disposed while this watcher was being built: StopAsync found no watcher to stop.
            _ = watcher.DisposeAsync().AsTask();
        }
    }

    public void StartFailed()
    {
        _startFailure = new InvalidOperationException($"The watch of {Service} could not be started; see the exception thrown to its first subscriber.");
        _started.TrySetResult();
    }

    /// <summary>Blocks a joining subscriber until the creator has started the watcher (a constructor call and a Task.Run).</summary>
    public void WaitStarted()
    {
        _started.Task.GetAwaiter().GetResult();
        if (_startFailure is Exception failure)
        {
            throw failure;
        }
    }

    /// <summary>The watcher's callback: records the set and hands it to every subscriber.</summary>
    public void Publish(IReadOnlyList<Endpoint> endpoints)
    {
        // Step 1 – record it first, so a subscriber that joins from now on starts from this set.
        var set = new PublishedSet(endpoints, ++_version);
        Volatile.Write(ref _current, set);

        // Step 2 – deliver to everyone; one subscriber's failure must not starve the others.
        Exception? first = null;
        foreach (WatchSubscription subscriber in Subscribers)
        {
            try
            {
                subscriber.Deliver(set);
            }
#pragma warning disable CA1031 // collected and rethrown below, after every subscriber had its turn
            catch (Exception ex)
#pragma warning restore CA1031
            {
                first ??= ex;
            }
        }

        if (first is not null)
        {
            // The watcher records it in its Status and delivers again later.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }
    }

    public void DeliverCurrent(WatchSubscription subscription)
    {
        if (Volatile.Read(ref _current) is PublishedSet set)
        {
            subscription.Deliver(set);
        }
    }

    // Called under the registry's lock.
    public void StartLinger(TimeProvider timeProvider, TimeSpan linger)
    {
        CancelLinger();
        long generation = LingerGeneration;
        _lingerTimer = timeProvider.CreateTimer(
            static state =>
            {
                var (watch, generation) = ((SharedWatch, long))state!;
                watch._registry.LingerElapsed(watch, generation);
            },
            (this, generation),
            linger,
            Timeout.InfiniteTimeSpan);
    }

    // Called under the registry's lock.
    public void CancelLinger()
    {
        LingerGeneration++;
        _lingerTimer?.Dispose();
        _lingerTimer = null;
    }

    public Task StopAsync()
    {
        KubernetesEndpointWatcher? watcher;
        lock (_lifecycle)
        {
            _stopped = true;
            watcher = _watcher;
        }

        return watcher is null ? Task.CompletedTask : StopCoreAsync(watcher);
    }

    private static async Task StopCoreAsync(KubernetesEndpointWatcher watcher)
    {
        try
        {
            await watcher.DisposeAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a stop runs unobserved from a timer: nothing may escape it
        catch (Exception)
#pragma warning restore CA1031
        {
            // DisposeAsync does not throw today; if it ever does, the watch is gone either way.
        }
    }
}
