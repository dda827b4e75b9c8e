using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.Http;

/// <summary>An immutable, validated copy of <see cref="KubernetesBalancingOptions"/>, taken once per <see cref="KubernetesBalancing"/>.</summary>
internal sealed class BalancingSettings
{
    private readonly OutlierEjectionOptions? _outlierEjection;
    private readonly double? _loadFactor;
    private readonly LoadMeasure _loadMeasure;
    private readonly TopologyOptions? _topology;

    public BalancingSettings(KubernetesBalancingOptions options, string name)
    {
        List<string> failures = KubernetesBalancingOptionsValidator.Check(options, string.IsNullOrEmpty(name) ? "KubernetesBalancing" : $"KubernetesBalancing (client '{name}')");
        if (failures.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, failures), nameof(options));
        }

        ClientName = name;
        DefaultNamespace = options.DefaultNamespace;
        FixedService = options.Service is null ? null : ServiceReference.Parse(options.Service, options.DefaultNamespace);
        PortName = options.PortName;
        Picker = options.Picker;
        AffinityPicker = options.AffinityPicker;
        _loadFactor = options.LoadFactor;
        _loadMeasure = options.LoadMeasure;
        LoadReportHeader = options.LoadMeasure == LoadMeasure.Reported ? options.LoadReportHeader : null;
        _topology = options.Topology is { } topology
            ? new TopologyOptions { LocalZone = topology.LocalZone, LocalNode = topology.LocalNode, RequireHints = topology.RequireHints }
            : null;
        AffinityHeader = options.AffinityHeader;
        AffinityQueryParameter = options.AffinityQueryParameter;
        AffinityCookie = options.AffinityCookie;
        AffinityKey = options.AffinityKey;
        HasAffinity = AffinityHeader is not null || AffinityQueryParameter is not null || AffinityCookie is not null || AffinityKey is not null;
        if (options.OutlierEjectionEnabled)
        {
            OutlierEjectionOptions source = options.OutlierEjection;
            _outlierEjection = new OutlierEjectionOptions
            {
                ConsecutiveFailures = source.ConsecutiveFailures,
                BaseEjectionTime = source.BaseEjectionTime,
                MaxEjectionTime = source.MaxEjectionTime,
                MaxEjectedShare = source.MaxEjectedShare,
            };
        }

        RetryConnectionFailures = options.RetryConnectionFailures;
        RetryServerErrors = options.RetryServerErrors;
        ServerErrorsAreFailures = options.ServerErrorsAreFailures;
        LeaseRelease = options.LeaseRelease;
        Transport = options.Transport;
        ConfigurePodHandler = options.ConfigurePodHandler;
        MaxBufferedBodyBytes = options.LeaseRelease == LeaseRelease.ResponseEnd ? options.MaxBufferedBodyBytes : 0;
        FallbackEndpoint = options.FallbackEndpoint is null ? null : Endpoint.Parse(options.FallbackEndpoint);
        PassThroughNonServiceHosts = options.PassThroughNonServiceHosts;
    }

    public bool PassThroughNonServiceHosts { get; }

    /// <summary>The named <c>HttpClient</c> these settings are for; empty for the default client and without DI.</summary>
    public string ClientName { get; }

    public string DefaultNamespace { get; }

    public ServiceReference? FixedService { get; }

    public string? PortName { get; }

    public BalancingPicker Picker { get; }

    public BalancingPicker AffinityPicker { get; }

    public string? AffinityHeader { get; }

    /// <summary>The response header to read pods' reported loads from, or <see langword="null"/> when loads are not reported.</summary>
    public string? LoadReportHeader { get; }

    public string? AffinityQueryParameter { get; }

    public string? AffinityCookie { get; }

    public Func<HttpRequestMessage, string?>? AffinityKey { get; }

    public bool HasAffinity { get; }

    public bool RetryConnectionFailures { get; }

    public bool RetryServerErrors { get; }

    public bool ServerErrorsAreFailures { get; }

    public LeaseRelease LeaseRelease { get; }

    public Endpoint? FallbackEndpoint { get; }

    public BalancingTransport Transport { get; }

    /// <summary>Bodies declared up to this length are read by the handler (0: never; always 0 unless <see cref="LeaseRelease.ResponseEnd"/>).</summary>
    public int MaxBufferedBodyBytes { get; }

    public Action<SocketsHttpHandler>? ConfigurePodHandler { get; }

    /// <summary>
    /// A test and benchmark seam: makes the handler of a pod (with <see cref="BalancingTransport.PodConnections"/>);
    /// <see langword="null"/> for the real one, a <see cref="SocketsHttpHandler"/> that dials the pod.
    /// </summary>
    public Func<Endpoint, HttpMessageHandler>? PodHandlerFactory { get; init; }

    /// <summary>The handler a new pod connection pool sends through.</summary>
    /// <param name="pod">The pod.</param>
    /// <param name="isServiceAuthority">Whether a host and port name the Service (those connections dial the pod; a redirect elsewhere dials its own host).</param>
    /// <param name="meterFactory">The container's meter factory, for the runtime's own <c>http.client.*</c> metrics; <see langword="null"/> without DI.</param>
    public HttpMessageHandler CreatePodHandler(Endpoint pod, Func<string, int, bool> isServiceAuthority, System.Diagnostics.Metrics.IMeterFactory? meterFactory)
        => PodHandlerFactory is { } factory ? factory(pod) : PodHandlers.CreateSocketsHandler(pod, ConfigurePodHandler, isServiceAuthority, meterFactory);

    /// <summary>A test seam: the clock of ejections and request rates.</summary>
    public TimeProvider? TimeProvider { get; init; }

    public LoadBalancer CreateBalancer(BalancingPicker picker, Action<EndpointEjection> onEjected)
    {
        TimeProvider clock = TimeProvider ?? TimeProvider.System;
        return picker switch
        {
            BalancingPicker.RoundRobin => new RoundRobinBalancer(Common(new LoadBalancerOptions(), clock, onEjected)),
            BalancingPicker.Random => new RandomBalancer(Common(new RandomOptions(), clock, onEjected)),
            BalancingPicker.PowerOfTwoChoices => new PowerOfTwoChoicesBalancer(Common(new PowerOfTwoChoicesOptions { LoadMeasure = _loadMeasure }, clock, onEjected)),
            BalancingPicker.ConsistentHash => new ConsistentHashBalancer(Common(new ConsistentHashOptions { LoadFactor = _loadFactor }, clock, onEjected)),
            BalancingPicker.Maglev => new MaglevBalancer(Common(new MaglevOptions { LoadFactor = _loadFactor }, clock, onEjected)),
            _ => throw new ArgumentOutOfRangeException(nameof(picker), picker, "Unknown picker."),
        };
    }

    private T Common<T>(T options, TimeProvider clock, Action<EndpointEjection> onEjected)
        where T : LoadBalancerOptions
    {
        options.FallbackEndpoint = FallbackEndpoint;
        options.OutlierEjection = _outlierEjection;
        options.Ejected = _outlierEjection is null ? null : onEjected;
        options.TimeProvider = clock;
        options.Topology = _topology;
        return options;
    }
}
