using System.Collections.Concurrent;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LockFree.Balancing.Http;

/// <summary>
/// Balances HTTP requests to Kubernetes Services with one set of <see cref="KubernetesBalancingOptions"/>: the
/// non-DI entry point, and what each named <c>HttpClient</c> gets from <c>AddKubernetesBalancing</c>.
/// </summary>
/// <remarks>
/// <para>
/// Holds one <see cref="LoadBalancer"/> (two with an affinity source) per Service it has seen, each fed by the
/// registry's shared watch. Handlers from <see cref="CreateHandler"/> are thin: recycling them keeps every
/// balancer, in-flight count and ejection. Disposing this object unsubscribes from the watches.
/// </para>
/// <para>
/// Thread-safe. Services are resolved on first use; the first request to a Service whose watch has not synced yet
/// finds no endpoint (use <see cref="WaitForEndpointsAsync"/> at startup to avoid that).
/// </para>
/// </remarks>
public sealed class KubernetesBalancing : IDisposable
{
    private readonly KubernetesWatchRegistry _registry;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(string Host, int Port), ServiceTarget> _targets = new();
    private readonly ConcurrentDictionary<ServiceReference, BalancedService> _services = new();
    private readonly ConcurrentDictionary<(string Host, int Port), string> _notServices = new(); // host → why it is not a Service
    private readonly Lock _createGate = new();
    private ServiceTarget? _last;
    private bool _disposed;

    /// <summary>Creates a balancing set over <paramref name="registry"/>'s shared watches.</summary>
    /// <param name="registry">The process's watch registry (one per process: its watches are shared by everyone using it).</param>
    /// <param name="options">The options; copied and validated now, later changes have no effect.</param>
    /// <param name="loggerFactory">Where events 200-299 go; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="registry"/> or <paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is invalid; the message lists every problem and what is accepted.</exception>
    public KubernetesBalancing(KubernetesWatchRegistry registry, KubernetesBalancingOptions options, ILoggerFactory? loggerFactory = null)
        : this(registry, new BalancingSettings(options ?? throw new ArgumentNullException(nameof(options)), name: string.Empty), loggerFactory)
    {
    }

    /// <param name="registry">The watch registry.</param>
    /// <param name="settings">The validated options.</param>
    /// <param name="loggerFactory">Where logs go.</param>
    /// <param name="metrics">The container's instruments (from its <c>IMeterFactory</c>); <see langword="null"/> for the process-wide ones.</param>
    internal KubernetesBalancing(KubernetesWatchRegistry registry, BalancingSettings settings, ILoggerFactory? loggerFactory, BalancingMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
        Settings = settings;
        Metrics = metrics ?? BalancingMetrics.Shared;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("LockFree.Balancing.Http");
    }

    internal BalancingSettings Settings { get; }

    internal ILogger Logger => _logger;

    internal BalancingMetrics Metrics { get; }

    /// <summary>Creates a handler that balances every request it sends; it owns <paramref name="innerHandler"/>.</summary>
    /// <param name="innerHandler">
    /// With <see cref="BalancingTransport.InnerHandler"/>: the handler that sends to the picked pod; <see langword="null"/>
    /// for a new <see cref="SocketsHttpHandler"/>. With <see cref="BalancingTransport.PodConnections"/> (the default)
    /// each pod has its own handler and this one is not used.
    /// </param>
    /// <returns>The handler, e.g. for <c>new HttpClient(handler)</c>.</returns>
    /// <exception cref="ArgumentException">
    /// <paramref name="innerHandler"/> is given with <see cref="BalancingTransport.PodConnections"/>, which would not use it.
    /// </exception>
    public KubernetesBalancingHandler CreateHandler(HttpMessageHandler? innerHandler = null)
    {
        if (innerHandler is not null && Settings.Transport == BalancingTransport.PodConnections)
        {
            throw new ArgumentException(
                "With Transport PodConnections (the default) each pod has its own SocketsHttpHandler and an inner handler would not be used: configure the pods' handlers with KubernetesBalancingOptions.ConfigurePodHandler, or set Transport = InnerHandler to send through this handler.",
                nameof(innerHandler));
        }

        return new(this, innerHandler ?? CreateInnerHandler());
    }

    // The default inner handler: its client spans get the pick (see PickTagging); a handler the caller gives is not changed.
    private static SocketsHttpHandler CreateInnerHandler()
    {
        var handler = new SocketsHttpHandler();
        handler.ActivityHeadersPropagator = PickTagging.Wrap(handler.ActivityHeadersPropagator);
        return handler;
    }

    /// <summary>Waits until the watch of the Service that <paramref name="requestUri"/> names has synced once.</summary>
    /// <param name="requestUri">A URL of the Service, e.g. <c>http://orders.shop/</c>.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The number of endpoints after the first sync.</returns>
    /// <exception cref="ArgumentException">The URI does not name a Kubernetes Service.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled first.</exception>
    public async Task<int> WaitForEndpointsAsync(Uri requestUri, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestUri);
        ServiceTarget target = Resolve(requestUri);
        await target.Service.Watcher.WaitForVersionAsync(1, cancellationToken).ConfigureAwait(false);
        return target.Service.Balancer.Endpoints.Count;
    }

    /// <summary>Unsubscribes from every watch (the registry stops each after its linger once nobody else uses it).</summary>
    public void Dispose()
    {
        lock (_createGate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        foreach (BalancedService service in _services.Values)
        {
            service.Dispose();
        }

        _services.Clear();
        _targets.Clear();
        _last = null;
    }

    /// <summary>The target of a request URI; cached by host and port.</summary>
    /// <exception cref="ArgumentException">The URI is relative or its host is not a Service name.</exception>
    /// <exception cref="ObjectDisposedException">This object is disposed.</exception>
    internal ServiceTarget Resolve(Uri uri)
        => TryResolve(uri, out ServiceTarget? target, out string? whyNot) ? target : throw new ArgumentException(whyNot, nameof(uri));

    /// <summary>The target of a request URI, or why its host is not a Service; both cached by host and port.</summary>
    /// <exception cref="ObjectDisposedException">This object is disposed.</exception>
    internal bool TryResolve(Uri uri, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ServiceTarget? target, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? whyNot)
    {
        // PERF: one client talks to one Service almost always; the last hit avoids the dictionary's hashing.
        string host = uri.IdnHost;
        int port = uri.Port;
        whyNot = null;
        ServiceTarget? last = Volatile.Read(ref _last);
        if (last is not null && last.Port == port && string.Equals(last.Host, host, StringComparison.Ordinal))
        {
            target = last;
            return true;
        }

        if (!_targets.TryGetValue((host, port), out target))
        {
            if (_notServices.TryGetValue((host, port), out whyNot))
            {
                return false;
            }

            ServiceReference? service = Settings.FixedService ?? ToServiceReference(uri, host, out whyNot);
            if (service is null)
            {
                // Bounded: a client reaches few distinct hosts; a hostile caller choosing hosts would fill it, so cap it.
                whyNot ??= $"The request URI host '{host}' does not name a Kubernetes Service.";
                if (_notServices.Count < 1024)
                {
                    _notServices.TryAdd((host, port), whyNot);
                }

                return false;
            }

            target = CreateTarget(service, uri, host, port);
        }

        Volatile.Write(ref _last, target);
        return true;
    }

    private ServiceTarget CreateTarget(ServiceReference service, Uri uri, string host, int port)
    {
        lock (_createGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_targets.TryGetValue((host, port), out ServiceTarget? existing))
            {
                return existing;
            }

            if (!_services.TryGetValue(service, out BalancedService? balanced))
            {
                // Created under the gate so two first requests cannot subscribe twice.
                balanced = new BalancedService(service, _registry, Settings, _logger, Metrics);
                _services[service] = balanced;
            }

            balanced.Pods?.AddServiceAuthority(host, port); // the pods' handlers dial the pod for this host only
            var target = new ServiceTarget(host, port, balanced, uri.IsDefaultPort ? uri.IdnHost : $"{uri.IdnHost}:{port}");
            _targets[(host, port)] = target;
            return target;
        }
    }

    private ServiceReference? ToServiceReference(Uri uri, string host, out string? whyNot)
    {
        string text = host;
        if (Settings.PortName is string portName)
        {
            text += ":" + portName;
        }
        else if (!uri.IsDefaultPort)
        {
            text += ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        try
        {
            whyNot = null;
            return ServiceReference.Parse(text, Settings.DefaultNamespace);
        }
        catch (ServiceReferenceFormatException ex)
        {
            Log.ServiceResolutionFailed(_logger, host, ex.Message);
            whyNot = $"The request URI host '{host}' does not name a Kubernetes Service. Use 'name', 'name.namespace', 'name.namespace.svc' or 'name.namespace.svc.cluster.local' (lower-case DNS labels), or set KubernetesBalancingOptions.Service; set KubernetesBalancingOptions.PassThroughNonServiceHosts to send such requests unbalanced. {ex.Message}";
            return null;
        }
    }
}
