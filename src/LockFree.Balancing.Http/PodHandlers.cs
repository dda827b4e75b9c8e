using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace LockFree.Balancing.Http;

/// <summary>
/// The connection pools of one Service's pods (<see cref="BalancingTransport.PodConnections"/>): one handler per pod,
/// created on the pod's first request, retired when the pod leaves the endpoint set.
/// </summary>
/// <remarks>
/// <para>
/// Lives as long as its <see cref="BalancedService"/>, so <c>IHttpClientFactory</c>'s handler recycling keeps the
/// connections. A retired handler is disposed once the sends in progress on it have their response headers;
/// <see cref="SocketsHttpHandler"/> lets a response body that is still being read finish after that.
/// </para>
/// <para>
/// A request whose lease names a pod that left a moment ago (the pick raced with the update) still goes to it, on a
/// fresh handler that the next change of the set retires: at most one such handler per departed pod lingers.
/// </para>
/// </remarks>
internal sealed class PodHandlers : IDisposable
{
    private readonly ConcurrentDictionary<Endpoint, PodHandler> _handlers = new();
    private readonly ConcurrentDictionary<(string Host, int Port), byte> _serviceAuthorities = new();
    private readonly Func<Endpoint, Func<string, int, bool>, HttpMessageHandler> _create;
    private readonly Endpoint? _permanent;
    private readonly Lock _gate = new();
    private bool _disposed;

    /// <param name="create">Makes the handler of a pod, given the test of which hosts name the Service.</param>
    /// <param name="permanent">An endpoint never in the set that must not be retired (the fallback endpoint).</param>
    public PodHandlers(Func<Endpoint, Func<string, int, bool>, HttpMessageHandler> create, Endpoint? permanent)
    {
        _create = create;
        _permanent = permanent;
    }

    /// <summary>Notes that requests to <paramref name="host"/>:<paramref name="port"/> are balanced over these pods.</summary>
    public void AddServiceAuthority(string host, int port) => _serviceAuthorities.TryAdd((host, port), 0);

    /// <summary>
    /// True when a connection to <paramref name="host"/>:<paramref name="port"/> is one to the Service: it dials the
    /// pod. Anything else (a redirect to another host) is dialled as itself.
    /// </summary>
    public bool IsServiceAuthority(string host, int port) => _serviceAuthorities.ContainsKey((host, port));

    /// <summary>Pods with a live handler.</summary>
    public int Count => _handlers.Count;

    /// <summary>The live handler of <paramref name="pod"/>, if it has one (for tests).</summary>
    internal PodHandler? Find(Endpoint pod) => _handlers.TryGetValue(pod, out PodHandler? handler) ? handler : null;

    /// <summary>The pod's handler, entered for one send: call <see cref="PodHandler.Exit"/> when the send returns.</summary>
    /// <exception cref="ObjectDisposedException">The balancing set was disposed.</exception>
    public PodHandler Enter(Endpoint pod)
    {
        // PERF: a lookup and one compare-and-swap per request; nothing is allocated after the pod's first request.
        if (_handlers.TryGetValue(pod, out PodHandler? handler) && handler.TryEnter())
        {
            return handler;
        }

        return EnterNew(pod);
    }

    /// <summary>Retires the handlers of pods that left the set (called on the watch's delivery, never on a request).</summary>
    public void Retain(IReadOnlyList<Endpoint> endpoints)
    {
        if (_handlers.IsEmpty)
        {
            return;
        }

        var current = new HashSet<Endpoint>(endpoints);
        lock (_gate)
        {
            foreach ((Endpoint pod, PodHandler handler) in _handlers)
            {
                if (!current.Contains(pod) && !pod.Equals(_permanent) && _handlers.TryRemove(pod, out _))
                {
                    handler.Retire();
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (PodHandler handler in _handlers.Values)
            {
                handler.Retire();
            }

            _handlers.Clear();
        }
    }

    /// <summary>The handler every pod gets by default: a <see cref="SocketsHttpHandler"/> whose connections dial the pod.</summary>
    /// <param name="pod">The pod.</param>
    /// <param name="configure">The user's settings (<see cref="KubernetesBalancingOptions.ConfigurePodHandler"/>).</param>
    /// <param name="isServiceAuthority">
    /// Which hosts name the Service: a connection to one of them dials the pod, any other (a redirect followed to
    /// another host) its own host. <see langword="null"/>: every connection dials the pod (tests).
    /// </param>
    /// <param name="meterFactory">
    /// The container's meter factory: the runtime's <c>http.client.*</c> instruments of this handler are created
    /// from it, as <c>IHttpClientFactory</c> does for its primary handlers (unless <paramref name="configure"/> set one).
    /// </param>
    internal static SocketsHttpHandler CreateSocketsHandler(Endpoint pod, Action<SocketsHttpHandler>? configure, Func<string, int, bool>? isServiceAuthority = null, System.Diagnostics.Metrics.IMeterFactory? meterFactory = null)
    {
        var handler = new SocketsHttpHandler();
        if (meterFactory is not null)
        {
            handler.MeterFactory = meterFactory;
        }

        configure?.Invoke(handler);

        // The runtime's client span sees the propagator with the request: it tags the span with the pick.
        handler.ActivityHeadersPropagator = PickTagging.Wrap(handler.ActivityHeadersPropagator);

        // After the user's settings: these two are what makes the handler a pod's (a proxy would be dialled as the pod).
        EndPoint target = pod.AddressKind == EndpointAddressKind.DnsName
            ? new DnsEndPoint(pod.Host, pod.Port)
            : new IPEndPoint(IPAddress.Parse(pod.Host), pod.Port);
        handler.UseProxy = false;
        handler.ConnectCallback = (context, cancellationToken) =>
        {
            DnsEndPoint requested = context.DnsEndPoint;
            bool toPod = isServiceAuthority is null || isServiceAuthority(requested.Host, requested.Port);
            return ConnectAsync(toPod ? target : requested, cancellationToken);
        };
        return handler;
    }

    private static async ValueTask<Stream> ConnectAsync(EndPoint target, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(target, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private PodHandler EnterNew(Endpoint pod)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);

        // Made outside the lock: the user's ConfigurePodHandler runs here and must not hold up other pods or Retain.
        var created = new PodHandler(_create(pod, IsServiceAuthority));
        created.TryEnter(); // this send's reference
        PodHandler? existing = null;
        lock (_gate)
        {
            if (!_disposed)
            {
                if (!(_handlers.TryGetValue(pod, out existing) && existing.TryEnter()))
                {
                    _handlers[pod] = created;
                    return created;
                }
            }
        }

        // Not registered (another request made one first, or the set was disposed meanwhile): dispose it unused.
        created.Exit();
        created.Retire();
        return existing ?? throw new ObjectDisposedException(nameof(PodHandlers));
    }
}
