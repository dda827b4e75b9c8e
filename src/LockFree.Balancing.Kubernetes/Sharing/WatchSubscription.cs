namespace LockFree.Balancing.Kubernetes.Sharing;

/// <summary>One subscriber of a shared watch, from <see cref="KubernetesWatchRegistry.Subscribe(ServiceReference, LoadBalancer)"/>. Dispose it to unsubscribe.</summary>
/// <remarks>
/// Sets are delivered one at a time under the subscription's own lock, each newer than the last (a set the
/// subscriber already has, or an older one, is skipped). Once <see cref="Dispose"/> returns, no further set is
/// delivered. Disposing twice does nothing.
/// </remarks>
public sealed class WatchSubscription : IDisposable
{
    private readonly Action<IReadOnlyList<Endpoint>> _onChanged;
    private readonly Lock _delivery = new();
    private long _deliveredVersion;   // guarded by _delivery
    private bool _disposed;           // guarded by _delivery

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
        lock (_delivery)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        Watch.Registry.Release(this);
    }

    internal void Deliver(PublishedSet set)
    {
        lock (_delivery)
        {
            if (_disposed || set.Version <= _deliveredVersion)
            {
                return;
            }

            _deliveredVersion = set.Version;
            _onChanged(set.Endpoints);
        }
    }
}
