namespace LockFree.Balancing.Kubernetes.Sharing;

/// <summary>One subscriber of a shared watch, from <see cref="KubernetesWatchRegistry.Subscribe(ServiceReference, LoadBalancer)"/>. Dispose it to unsubscribe.</summary>
/// <remarks>
/// <para>
/// Sets are delivered one at a time, each newer than the last (a set the subscriber already has, or an older one, is
/// skipped), and the callback never runs under a lock of ours: a thread that finds a delivery running on another
/// thread leaves its set for that thread to deliver after the current callback returns, and returns at once. So a
/// callback may take its consumer's locks (grpc-dotnet's resolver listener takes the channel's) while the consumer,
/// holding them, subscribes or disposes, without a deadlock.
/// </para>
/// <para>
/// Once <see cref="Dispose"/> returns no delivery starts; a callback already running on another thread finishes.
/// Disposing twice does nothing.
/// </para>
/// </remarks>
public sealed class WatchSubscription : IDisposable
{
    private readonly Action<IReadOnlyList<Endpoint>> _onChanged;
    private PublishedSet? _pending;   // the newest set not delivered yet; swapped with Interlocked
    private int _delivering;          // 1 while a thread runs the delivery loop
    private long _deliveredVersion;   // read and written by the delivering thread only
    private int _disposed;

    internal WatchSubscription(SharedWatch watch, Action<IReadOnlyList<Endpoint>> onChanged)
    {
        Watch = watch;
        _onChanged = onChanged;
    }

    /// <summary>The watched Service.</summary>
    public ServiceReference Service => Watch.Service;

    /// <summary>The shared watcher, for <see cref="KubernetesEndpointWatcher.Status"/> and the wait methods; the same object for every subscriber of the Service. Do not dispose it.</summary>
    public KubernetesEndpointWatcher Watcher => Watch.Watcher ?? throw new InvalidOperationException("The watch was not started.");

    internal SharedWatch Watch { get; }

    /// <summary>Stops deliveries to this subscriber; the last subscription of a Service lets the watch stop after the registry's linger.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Watch.Registry.Release(this);
    }

    internal void Deliver(PublishedSet set)
    {
        // Step 1 – offer the set, keeping the newest of what is waiting.
        PublishedSet? pending = Volatile.Read(ref _pending);
        while (pending is null || pending.Version < set.Version)
        {
            PublishedSet? seen = Interlocked.CompareExchange(ref _pending, set, pending);
            if (ReferenceEquals(seen, pending))
            {
                break;
            }

            pending = seen;
        }

        // Step 2 – deliver, unless another thread is delivering: it takes what was offered once its callback returns.
        while (Interlocked.CompareExchange(ref _delivering, 1, 0) == 0)
        {
            try
            {
                PublishedSet? next = Interlocked.Exchange(ref _pending, null);
                if (next is not null && Volatile.Read(ref _disposed) == 0 && next.Version > _deliveredVersion)
                {
                    _deliveredVersion = next.Version;
                    _onChanged(next.Endpoints);
                }
            }
            finally
            {
                Volatile.Write(ref _delivering, 0);
            }

            // Step 3 – a set offered while the callback ran found the loop busy and left: deliver it now.
            if (Volatile.Read(ref _pending) is null)
            {
                return;
            }
        }
    }
}
