namespace LockFree.Balancing.Http;

/// <summary>How <see cref="KubernetesBalancingHandler"/> maps requests to a Kubernetes Service and places them on its pods.</summary>
/// <remarks>
/// <para>
/// Bindable from configuration (every property but <see cref="AffinityKey"/> and <see cref="ConfigurePodHandler"/>); validated when the host starts
/// (<see cref="KubernetesBalancingOptionsValidator"/>) or, without a host, when <see cref="KubernetesBalancing"/> is created.
/// </para>
/// <para>
/// Service from the request URI: the host is <c>name</c>, <c>name.namespace</c>, <c>name.namespace.svc</c> or
/// <c>name.namespace.svc.cluster.local</c>. <see cref="System.Uri"/> accepts only numeric ports, so a Service port
/// <em>name</em> (what EndpointSlices are keyed by) goes in <see cref="PortName"/>; without it an explicit URI port is
/// taken as the pods' port number, and a URI without a port asks for the Service's only port.
/// </para>
/// </remarks>
public sealed class KubernetesBalancingOptions
{
    /// <summary>A fixed Service (any <see cref="Kubernetes.ServiceReference.AcceptedForms"/>, e.g. <c>orders.shop:http</c>) used for every request whatever its URI; <see langword="null"/> (default) to take it from each request URI's host.</summary>
    public string? Service { get; set; }

    /// <summary>The namespace for a URI host (or <see cref="Service"/>) that names none. Default: <c>default</c>.</summary>
    public string DefaultNamespace { get; set; } = Kubernetes.ServiceReference.DefaultNamespace;

    /// <summary>The Service port name to send to (e.g. <c>http</c>, <c>grpc</c>); <see langword="null"/> (default): the URI's explicit port number, or the Service's only port.</summary>
    public string? PortName { get; set; }

    /// <summary>The picker for requests without an affinity key: <see cref="BalancingPicker.PowerOfTwoChoices"/> (default), <see cref="BalancingPicker.RoundRobin"/> or <see cref="BalancingPicker.Random"/>.</summary>
    public BalancingPicker Picker { get; set; } = BalancingPicker.PowerOfTwoChoices;

    /// <summary>The picker for requests with an affinity key: <see cref="BalancingPicker.ConsistentHash"/> (default) or <see cref="BalancingPicker.Maglev"/>. Used only when an affinity source is set.</summary>
    public BalancingPicker AffinityPicker { get; set; } = BalancingPicker.ConsistentHash;

    /// <summary>Bounded loads for the affinity picker: no pod takes more than ⌈factor · average⌉ keyed requests in flight (above 1, at most 100); <see langword="null"/> (default) for plain hashing.</summary>
    public double? LoadFactor { get; set; }

    /// <summary>Take the affinity key from this request header (its first value).</summary>
    public string? AffinityHeader { get; set; }

    /// <summary>Take the affinity key from this query-string parameter (its first occurrence, still URL-encoded).</summary>
    public string? AffinityQueryParameter { get; set; }

    /// <summary>Take the affinity key from this cookie of the request's <c>Cookie</c> header.</summary>
    public string? AffinityCookie { get; set; }

    /// <summary>Compute the affinity key from the request (code only, not bindable); <see langword="null"/> or an empty result means no key. Called on every request: keep it cheap.</summary>
    public Func<HttpRequestMessage, string?>? AffinityKey { get; set; }

    /// <summary>
    /// Prefer the pods meant for the caller's zone or node (EndpointSlice hints, else zone and node labels), and use
    /// every pod when none of those is available or has room; <see langword="null"/> (default): no preference. Bind
    /// <c>Topology:LocalZone</c> and <c>Topology:LocalNode</c>, for example from the downward API's node name and the
    /// node's <c>topology.kubernetes.io/zone</c> label. Applies to both pickers.
    /// </summary>
    public TopologyOptions? Topology { get; set; }

    /// <summary>
    /// What <see cref="BalancingPicker.PowerOfTwoChoices"/> compares: requests in flight (default), the recent request
    /// rate, or the load each pod reports in <see cref="LoadReportHeader"/>. Only that picker uses it.
    /// </summary>
    public LoadMeasure LoadMeasure { get; set; } = LoadMeasure.InFlight;

    /// <summary>
    /// With <see cref="LoadMeasure"/> <see cref="LoadMeasure.Reported"/> (and only then): the response header in which
    /// pods report their load, a finite number of at least 0 where lower is less loaded, e.g. <c>x-load: 0.42</c> for
    /// CPU utilization or a queue length. Read on every response; a pod that never reports counts as 0, and a report
    /// fades with its age (10 s half-life). A value that is not such a number is ignored and logged (event 208).
    /// </summary>
    public string? LoadReportHeader { get; set; }

    /// <summary>Eject pods whose requests keep failing (connection failures, and 5xx when <see cref="ServerErrorsAreFailures"/>). Default: on.</summary>
    public bool OutlierEjectionEnabled { get; set; } = true;

    /// <summary>Ejection thresholds and durations, used when <see cref="OutlierEjectionEnabled"/>.</summary>
    public OutlierEjectionOptions OutlierEjection { get; set; } = new();

    /// <summary>A request that got no response because the pod could not be reached or its connection died first (refused, TLS handshake failed, reset or closed before the response began) is retried once on another pod, for idempotent methods only (GET, HEAD, OPTIONS, TRACE, PUT, DELETE). Default: on.</summary>
    public bool RetryConnectionFailures { get; set; } = true;

    /// <summary>Also retry an idempotent request once on another pod when it gets a 5xx. Default: off.</summary>
    public bool RetryServerErrors { get; set; }

    /// <summary>Report a 5xx response as the pod's failure (toward outlier ejection). Default: on.</summary>
    public bool ServerErrorsAreFailures { get; set; } = true;

    /// <summary>How a request reaches its pod: <see cref="BalancingTransport.PodConnections"/> (default: a connection pool per pod, nothing rewritten) or <see cref="BalancingTransport.InnerHandler"/> (rewritten to the pod and sent through the inner handler).</summary>
    public BalancingTransport Transport { get; set; } = BalancingTransport.PodConnections;

    /// <summary>
    /// With <see cref="BalancingTransport.PodConnections"/>: configures each pod's <see cref="SocketsHttpHandler"/>
    /// when it is created (TLS options such as <see cref="SocketsHttpHandler.SslOptions"/>, timeouts, connection limits,
    /// decompression; code only, not bindable). The library then sets <see cref="SocketsHttpHandler.ConnectCallback"/>
    /// (to dial the pod) and turns <see cref="SocketsHttpHandler.UseProxy"/> off, replacing whatever was set there.
    /// </summary>
    public Action<SocketsHttpHandler>? ConfigurePodHandler { get; set; }

    /// <summary>When a lease ends: <see cref="LeaseRelease.ResponseEnd"/> (default) or <see cref="LeaseRelease.ResponseHeaders"/>.</summary>
    public LeaseRelease LeaseRelease { get; set; } = LeaseRelease.ResponseEnd;

    /// <summary>The largest <see cref="MaxBufferedBodyBytes"/> accepted: a longer body should stream.</summary>
    public const int MaxBufferedBodyBytesLimit = 1024 * 1024;

    /// <summary>
    /// With <see cref="LeaseRelease.ResponseEnd"/>: a response that declares a Content-Length up to this many bytes is
    /// read into memory by the handler before it returns, so its lease ends there and its content needs no wrapper
    /// (about 200 B less per request). Default 16 KiB; 0 turns it off (every body is wrapped), at most
    /// <see cref="MaxBufferedBodyBytesLimit"/>. What it changes for a caller: with
    /// <see cref="HttpCompletionOption.ResponseHeadersRead"/>, such a response is returned once its body is in (and the
    /// caller's timeout and token cover that read); an <see cref="HttpClient.MaxResponseContentBufferSize"/> below this
    /// value no longer refuses such bodies. Set it to 0, or below that buffer size, where either matters.
    /// </summary>
    public int MaxBufferedBodyBytes { get; set; } = 16 * 1024;

    /// <summary>An endpoint (<c>host:port</c>, e.g. the Service's own DNS name <c>orders.shop.svc:80</c>) used while the Service has no ready pod; <see langword="null"/> (default): such requests fail with <see cref="HttpRequestException"/>.</summary>
    public string? FallbackEndpoint { get; set; }

    /// <summary>
    /// What a request whose host does not name a Kubernetes Service (e.g. <c>api.github.com</c>, an IP literal) does:
    /// <see langword="false"/> (default), it fails with an <see cref="HttpRequestException"/> whose
    /// <see cref="HttpRequestException.HttpRequestError"/> is <see cref="HttpRequestError.NameResolutionError"/> and whose
    /// message says which names are accepted; <see langword="true"/>, it is sent unchanged through the next handler (the
    /// client's primary handler), unbalanced. Turn it on when the balancing handler is added to every client
    /// (<c>ConfigureHttpClientDefaults</c>) and some clients call hosts outside the cluster.
    /// </summary>
    public bool PassThroughNonServiceHosts { get; set; }
}
