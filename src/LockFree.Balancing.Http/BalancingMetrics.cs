using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LockFree.Balancing.Http;

/// <summary>
/// The HTTP integration's instruments on the <c>LockFree.Balancing.Http</c> meter: one instance per container (its
/// meter from the container's <see cref="IMeterFactory"/>, disposed with it), and one process-wide instance for the
/// balancing sets built without DI. Names, units and attributes follow OpenTelemetry's <c>http.client.*</c>
/// conventions under a <c>lockfree.</c> prefix, so they never collide with the runtime's own <c>http.client.*</c>
/// instruments on the <c>System.Net.Http</c> meter. Attributes are bounded: the Service (<c>server.address</c>, the
/// host the request named, and <c>k8s.*</c>), method, status, error type, picker, outcome, and on the endpoint gauge
/// the named client's name. Never a pod or a key.
/// </summary>
/// <remarks>
/// Thread-safe. PERF: every recording first reads the instrument's <c>Enabled</c> (one field); with a listener
/// the tags go in a <see cref="TagList"/>, inline up to eight, so nothing is allocated either way.
/// </remarks>
internal sealed class BalancingMetrics
{
    public const string MeterName = "LockFree.Balancing.Http";

    public const string PicksName = "lockfree.http.client.picks";
    public const string ActiveRequestsName = "lockfree.http.client.active_requests";
    public const string DurationName = "lockfree.http.client.request.duration";
    public const string EndpointsName = "lockfree.http.client.endpoints";

    public const string PickerTag = "lockfree.picker";
    public const string OutcomeTag = "lockfree.pick.outcome";
    public const string StateTag = "lockfree.endpoint.state";
    public const string NamespaceTag = "k8s.namespace.name";
    public const string ServiceTag = "k8s.service.name";
    public const string ClientNameTag = "lockfree.http.client.name";
    public const string ServerAddressTag = "server.address";
    public const string ServerPortTag = "server.port";
    public const string MethodTag = "http.request.method";
    public const string StatusCodeTag = "http.response.status_code";
    public const string ErrorTypeTag = "error.type";

    // OpenTelemetry's advice for http.client.request.duration.
    private static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private static BalancingMetrics? s_shared;

    // Services balanced through this meter; the endpoint gauge walks them on the collector's thread.
    private readonly ConcurrentDictionary<BalancedService, byte> _live = new();
    private readonly Counter<long> _picks;
    private readonly UpDownCounter<long> _active;
    private readonly Histogram<double> _duration;

    private BalancingMetrics(Meter meter, IMeterFactory? meterFactory)
    {
        Meter = meter;
        MeterFactory = meterFactory;
        _picks = meter.CreateCounter<long>(
            PicksName, "{pick}", "Endpoint picks for HTTP requests, by picker and outcome (home, overflow, remote, fallback, over_capacity, none).");
        _active = meter.CreateUpDownCounter<long>(
            ActiveRequestsName, "{request}", "HTTP requests holding a lease on one of the Service's pods: from the pick to the response's end (or its headers, with LeaseRelease.ResponseHeaders).");
        _duration = meter.CreateHistogram(
            DurationName, "s", "How long one try held its pod: from the pick to the lease's release.", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        meter.CreateObservableGauge(
            EndpointsName, ObserveEndpoints, "{endpoint}", "The Service's endpoints by state (ready, ejected, draining: removed, requests still in flight), per named HttpClient balancing it.");
    }

    /// <summary>The process-wide instance, for balancing sets built without DI (its meter lives as long as the process).</summary>
    public static BalancingMetrics Shared
        => Volatile.Read(ref s_shared) ?? CreateShared();

    public Meter Meter { get; }

    /// <summary>The container's factory (the pods' <see cref="SocketsHttpHandler"/>s get it too); <see langword="null"/> for the process-wide instance.</summary>
    public IMeterFactory? MeterFactory { get; }

    /// <summary>The container's instance: a meter from <paramref name="meterFactory"/>, or the process-wide one without a factory.</summary>
    public static BalancingMetrics Create(IMeterFactory? meterFactory)
        => meterFactory is null ? Shared : new BalancingMetrics(meterFactory.Create(new MeterOptions(MeterName) { Version = Version }), meterFactory);

    public void Register(BalancedService service) => _live.TryAdd(service, 0);

    public void Unregister(BalancedService service) => _live.TryRemove(service, out _);

    public void RecordPick(ServiceTarget target, string picker, string outcome)
    {
        if (!_picks.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { PickerTag, picker },
            { OutcomeTag, outcome },
            { ServerAddressTag, target.Host },
            { NamespaceTag, target.Service.Service.Namespace },
            { ServiceTag, target.Service.Service.Name },
        };
        _picks.Add(1, in tags);
    }

    /// <summary>One try took a lease: counts it active and starts its clock (each only when its instrument is listened to).</summary>
    public RequestMeasure Start(ServiceTarget target, string method)
    {
        bool active = _active.Enabled;
        if (active)
        {
            TagList tags = RequestTags(target, method);
            _active.Add(1, in tags);
        }

        long started = _duration.Enabled ? Stopwatch.GetTimestamp() : 0;
        return active || started != 0 ? new RequestMeasure(this, target, method, started, active) : default;
    }

    /// <summary>The try's lease ended: uncounts it (if it was counted) and records its duration, once; later calls do nothing.</summary>
    /// <param name="measure">From <see cref="Start"/>; cleared.</param>
    /// <param name="statusCode">The response's status, 0 without one.</param>
    /// <param name="errorType">Why the try failed without a response (or its body broke off), <see langword="null"/> otherwise.</param>
    public static void End(ref RequestMeasure measure, int statusCode, string? errorType)
    {
        RequestMeasure taken = measure;
        measure = default;
        if (taken.Metrics is not BalancingMetrics metrics)
        {
            return;
        }

        TagList tags = RequestTags(taken.Target!, taken.Method!);
        if (taken.Active)
        {
            metrics._active.Add(-1, in tags); // the same tags as the +1
        }

        if (taken.Started != 0 && metrics._duration.Enabled)
        {
            if (statusCode != 0)
            {
                tags.Add(StatusCodeTag, StatusCodes.Boxed(statusCode));
            }

            errorType ??= statusCode >= 400 ? StatusCodes.Text(statusCode) : null;
            if (errorType is not null)
            {
                tags.Add(ErrorTypeTag, errorType);
            }

            metrics._duration.Record(Stopwatch.GetElapsedTime(taken.Started).TotalSeconds, in tags);
        }
    }

    /// <summary>
    /// <c>error.type</c> for an exception, as the runtime's own HTTP metrics name it: the <see cref="HttpRequestError"/>
    /// in snake case when the exception carries one, otherwise the exception's full type name.
    /// </summary>
    public static string ErrorType(Exception exception)
    {
        if (exception is HttpRequestException { HttpRequestError: not HttpRequestError.Unknown } request)
        {
            return request.HttpRequestError switch
            {
                HttpRequestError.NameResolutionError => "name_resolution_error",
                HttpRequestError.ConnectionError => "connection_error",
                HttpRequestError.SecureConnectionError => "secure_connection_error",
                HttpRequestError.HttpProtocolError => "http_protocol_error",
                HttpRequestError.ExtendedConnectNotSupported => "extended_connect_not_supported",
                HttpRequestError.VersionNegotiationError => "version_negotiation_error",
                HttpRequestError.UserAuthenticationError => "user_authentication_error",
                HttpRequestError.ProxyTunnelError => "proxy_tunnel_error",
                HttpRequestError.InvalidResponse => "invalid_response",
                HttpRequestError.ResponseEnded => "response_ended",
                HttpRequestError.ConfigurationLimitExceeded => "configuration_limit_exceeded",
                _ => exception.GetType().FullName ?? "_OTHER",
            };
        }

        return exception.GetType().FullName ?? "_OTHER";
    }

    /// <summary><c>http.request.method</c>: the known methods as they are, anything else <c>_OTHER</c> (bounded, per the conventions).</summary>
    public static string MethodTagValue(HttpMethod method)
    {
        string name = method.Method;
        return name switch
        {
            "GET" or "POST" or "PUT" or "DELETE" or "HEAD" or "OPTIONS" or "PATCH" or "TRACE" or "CONNECT" => name,
            _ => "_OTHER",
        };
    }

    private static TagList RequestTags(ServiceTarget target, string method) => new()
    {
        { MethodTag, method },
        { ServerAddressTag, target.Host },
        { ServerPortTag, target.PortTag },
        { NamespaceTag, target.Service.Service.Namespace },
        { ServiceTag, target.Service.Service.Name },
    };

    private static string? Version => typeof(BalancingMetrics).Assembly.GetName().Version?.ToString();

    private static BalancingMetrics CreateShared()
    {
        var created = new BalancingMetrics(new Meter(MeterName, Version), meterFactory: null);
        BalancingMetrics? raced = Interlocked.CompareExchange(ref s_shared, created, null);
        if (raced is not null)
        {
            created.Meter.Dispose(); // another thread published first: keep one set of instruments per process
            return raced;
        }

        return created;
    }

    private IEnumerable<Measurement<int>> ObserveEndpoints()
    {
        foreach (BalancedService service in _live.Keys)
        {
            int ready = 0;
            int ejected = 0;
            int draining = 0;
            foreach (EndpointStatus status in service.Balancer.GetStatus())
            {
                if (status.IsDraining)
                {
                    draining++;
                }
                else if (status.IsEjected)
                {
                    ejected++;
                }
                else
                {
                    ready++;
                }
            }

            yield return new Measurement<int>(ready, [.. service.ServiceTags, new(StateTag, "ready")]);
            yield return new Measurement<int>(ejected, [.. service.ServiceTags, new(StateTag, "ejected")]);
            yield return new Measurement<int>(draining, [.. service.ServiceTags, new(StateTag, "draining")]);
        }
    }

    /// <summary>Status codes as tag values, made once: boxed for <c>http.response.status_code</c>, text for <c>error.type</c>.</summary>
    private static class StatusCodes
    {
        private static readonly object[] BoxedCodes = Make<object>(static code => code);
        private static readonly string[] Texts = Make(static code => code.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public static object Boxed(int code) => code is >= 100 and < 600 ? BoxedCodes[code - 100] : code;

        public static string Text(int code) => code is >= 100 and < 600 ? Texts[code - 100] : code.ToString(System.Globalization.CultureInfo.InvariantCulture);

        private static T[] Make<T>(Func<int, T> make)
        {
            var values = new T[500];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = make(i + 100);
            }

            return values;
        }
    }
}
