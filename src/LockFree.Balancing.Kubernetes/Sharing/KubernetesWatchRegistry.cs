using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Kubernetes.Sharing;

/// <summary>
/// One <see cref="KubernetesEndpointWatcher"/> per Service per registry, however many balancers subscribe to it:
/// the first subscription starts the watch, later ones receive the current set at once, and the watch stops
/// <see cref="Linger"/> after the last subscription is disposed (unless a new one arrives first).
/// </summary>
/// <remarks>
/// <para>
/// Use one registry per process (the DI integration registers a singleton). <c>IHttpClientFactory</c> recycles
/// message handlers every few minutes; the linger keeps the watch alive across that recycling, so a handler
/// that is replaced does not cost a fresh LIST.
/// </para>
/// <para>
/// Identity: watches are keyed by the whole <see cref="ServiceReference"/>, port included. The same Service
/// asked for with two different ports (or once as <c>:http</c> and once as <c>:8080</c>) runs two watches: the
/// watcher merges EndpointSlices for one port and publishes only that port's set, so one watch cannot feed both.
/// </para>
/// <para>
/// Threading: every method is thread-safe. The registry's own lock guards the table of watches and reference
/// counts only; watcher construction, start, delivery to subscribers and disposal happen outside it. Each
/// subscriber receives sets one at a time and never an older set after a newer one (see
/// <see cref="WatchSubscription"/>). A subscriber that throws does not stop delivery to the others; the first
/// exception is rethrown to the watcher, which records it in its <see cref="KubernetesEndpointWatcher.Status"/>
/// and delivers again later.
/// </para>
/// </remarks>
public sealed class KubernetesWatchRegistry : IAsyncDisposable, IDisposable
{
    /// <summary>The default linger: longer than a handler swap, short enough to let an unused watch go soon.</summary>
    public static readonly TimeSpan DefaultLinger = TimeSpan.FromSeconds(30);

    private readonly KubernetesWatcherOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Func<ServiceReference, Action<IReadOnlyList<Endpoint>>, KubernetesWatcherOptions, KubernetesEndpointWatcher> _createWatcher;
    private readonly Lock _gate = new();
    private readonly Dictionary<ServiceReference, SharedWatch> _watches = [];   // guarded by _gate
    private readonly List<Task> _stopping = [];                                  // guarded by _gate
    private bool _disposed;                                                      // guarded by _gate
    private readonly Lock _transportGate = new();
    private Api.KubernetesTransport? _transport;                                 // guarded by _transportGate
    private bool _transportDisposed;                                             // guarded by _transportGate

    /// <summary>Creates a registry whose watches all use <paramref name="options"/>.</summary>
    /// <param name="options">How every watcher reaches the API server; <see langword="null"/> for the defaults (kubectl proxy on 127.0.0.1:8001).</param>
    /// <param name="linger">How long a watch outlives its last subscription; <see langword="null"/> for <see cref="DefaultLinger"/>, <see cref="TimeSpan.Zero"/> to stop at once. At most one hour.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="linger"/> is negative or above one hour.</exception>
    public KubernetesWatchRegistry(KubernetesWatcherOptions? options = null, TimeSpan? linger = null)
        : this(options, linger, createWatcher: null, lingerClock: null)
    {
    }

    internal KubernetesWatchRegistry(
        KubernetesWatcherOptions? options,
        TimeSpan? linger,
        Func<ServiceReference, Action<IReadOnlyList<Endpoint>>, KubernetesWatcherOptions, KubernetesEndpointWatcher>? createWatcher,
        TimeProvider? lingerClock)
    {
        TimeSpan value = linger ?? DefaultLinger;
        if (value < TimeSpan.Zero || value > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(linger), value, $"The linger {value} is not accepted: it must be between 0 and 1 hour (default {DefaultLinger.TotalSeconds} s).");
        }

        _options = options ?? new KubernetesWatcherOptions();
        _timeProvider = lingerClock ?? _options.TimeProvider ?? TimeProvider.System;
        _createWatcher = createWatcher ?? ((service, onChanged, o) => new KubernetesEndpointWatcher(service, onChanged, o, SharedTransport()));
        Linger = value;
    }

    /// <summary>
    /// The one transport (handler, connection pool, credentials) every watcher of this registry uses, built at the
    /// first subscription: over HTTP/2 all the registry's watches are streams of one connection.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid or the certificate authority file cannot be read.</exception>
    private Api.KubernetesTransport SharedTransport()
    {
        lock (_transportGate)
        {
            ObjectDisposedException.ThrowIf(_transportDisposed, this);
            if (_transport is null)
            {
                KubernetesWatcherOptions validated = _options.Validated();
                Microsoft.Extensions.Logging.ILogger logger = validated.LoggerFactory?.CreateLogger<KubernetesEndpointWatcher>()
                    ?? (Microsoft.Extensions.Logging.ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
                _transport = Api.KubernetesTransport.Create(validated, logger);
            }

            return _transport;
        }
    }

    /// <summary>How long a watch outlives its last subscription.</summary>
    public TimeSpan Linger { get; }

    /// <summary>The number of running watches, lingering ones included.</summary>
    public int WatchCount
    {
        get
        {
            lock (_gate)
            {
                return _watches.Count;
            }
        }
    }

    /// <summary>Keeps <paramref name="balancer"/>'s endpoints equal to <paramref name="service"/>'s until the subscription is disposed.</summary>
    /// <param name="service">The Service and port.</param>
    /// <param name="balancer">The balancer to update; it receives the current set at once when the watch has synced.</param>
    /// <returns>The subscription; dispose it to stop receiving sets.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The registry is disposed.</exception>
    /// <exception cref="ArgumentException">The registry's watcher options are not valid (thrown by the first subscription to a Service).</exception>
    public WatchSubscription Subscribe(ServiceReference service, LoadBalancer balancer)
    {
        ArgumentNullException.ThrowIfNull(balancer);
        return Subscribe(service, endpoints => balancer.Update(endpoints));
    }

    /// <summary>Calls <paramref name="onChanged"/> with <paramref name="service"/>'s endpoint set, now if the watch has synced and on every change, until the subscription is disposed.</summary>
    /// <param name="service">The Service and port.</param>
    /// <param name="onChanged">Receives each set, one call at a time, never an older set after a newer one. On a change, the
    /// subscribers of a Service are called one after another on the watch's task, in the order they subscribed.</param>
    /// <returns>The subscription; dispose it to stop receiving sets.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The registry is disposed.</exception>
    /// <exception cref="ArgumentException">The registry's watcher options are not valid (thrown by the first subscription to a Service).</exception>
    public WatchSubscription Subscribe(ServiceReference service, Action<IReadOnlyList<Endpoint>> onChanged)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(onChanged);
        SharedWatch? created = null;
        SharedWatch watch;
        WatchSubscription subscription;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_watches.TryGetValue(service, out watch!))
            {
                // Step 1 – a new entry is registered before its watcher exists, so a concurrent subscriber to the
                // same Service joins it instead of starting a second watch.
                watch = created = new SharedWatch(this, service);
                _watches.Add(service, watch);
            }

            watch.CancelLinger();
            subscription = new WatchSubscription(watch, onChanged);
            watch.Subscribers = [.. watch.Subscribers, subscription];
        }

        if (created is not null)
        {
            // Step 2 – construct and start outside the lock: the constructor reads files (CA, token).
            try
            {
                created.Start(_createWatcher(service, created.Publish, _options));
            }
            catch
            {
                created.StartFailed();
                lock (_gate)
                {
                    if (_watches.TryGetValue(service, out SharedWatch? current) && ReferenceEquals(current, created))
                    {
                        _watches.Remove(service);
                    }
                }

                throw;
            }
        }
        else
        {
            // Step 3 – a joining subscriber waits until the creator has started the watcher (or failed to).
            watch.WaitStarted();
        }

        // Step 4 – the current set, if any; a newer set delivered by the watch meanwhile wins (version check).
        watch.DeliverCurrent(subscription);
        return subscription;
    }

    /// <summary>Stops every watch at once and waits for them; later subscriptions throw.</summary>
    /// <returns>A task that completes when every watcher is disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        List<Task> pending;
        lock (_gate)
        {
            if (_disposed)
            {
                pending = [.. _stopping];
            }
            else
            {
                _disposed = true;
                foreach (SharedWatch watch in _watches.Values)
                {
                    watch.CancelLinger();
                    _stopping.Add(watch.StopAsync());
                }

                _watches.Clear();
                pending = [.. _stopping];
            }
        }

        await Task.WhenAll(pending).ConfigureAwait(false);

        // Every watcher is stopped: the shared connection can go.
        lock (_transportGate)
        {
            _transportDisposed = true;
            _transport?.Dispose();
            _transport = null;
        }
    }

    /// <summary>Stops every watch and blocks until they have stopped; prefer <see cref="DisposeAsync"/>. Exists for containers and callers that dispose synchronously.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Finds the running watcher of <paramref name="service"/>, for status and diagnostics.</summary>
    /// <param name="service">The Service and port.</param>
    /// <param name="watcher">The watcher, when one is running (or lingering) and started.</param>
    /// <returns><see langword="true"/> when a started watcher was found.</returns>
    public bool TryGetWatcher(ServiceReference service, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out KubernetesEndpointWatcher? watcher)
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (_gate)
        {
            watcher = _watches.TryGetValue(service, out SharedWatch? watch) ? watch.Watcher : null;
            return watcher is not null;
        }
    }

    internal void Release(WatchSubscription subscription)
    {
        SharedWatch watch = subscription.Watch;
        lock (_gate)
        {
            int index = Array.IndexOf(watch.Subscribers, subscription);
            if (index < 0)
            {
                return; // already released, or the registry was disposed
            }

            watch.Subscribers = [.. watch.Subscribers.AsSpan(0, index), .. watch.Subscribers.AsSpan(index + 1)];
            if (watch.Subscribers.Length > 0 || _disposed)
            {
                return;
            }

            if (Linger > TimeSpan.Zero)
            {
                watch.StartLinger(_timeProvider, Linger);
                return;
            }

            RemoveAndStop(watch);
        }
    }

    internal void LingerElapsed(SharedWatch watch, long lingerGeneration)
    {
        lock (_gate)
        {
            // A subscriber that arrived after the timer fired but before this lock cancelled the linger:
            // the generation moved on and the watch stays.
            if (watch.Subscribers.Length > 0 || watch.LingerGeneration != lingerGeneration || _disposed)
            {
                return;
            }

            RemoveAndStop(watch);
        }
    }

    // Called under _gate.
    private void RemoveAndStop(SharedWatch watch)
    {
        if (_watches.TryGetValue(watch.Service, out SharedWatch? current) && ReferenceEquals(current, watch))
        {
            _watches.Remove(watch.Service);
        }

        watch.CancelLinger();
        Task stop = watch.StopAsync();
        _stopping.RemoveAll(static t => t.IsCompleted);
        _stopping.Add(stop);
    }
}
