using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Grpc.RingHash;

using LoadBalancer = global::Grpc.Net.Client.Balancer.LoadBalancer;

/// <summary>
/// The gRFC A42/A76 <c>ring_hash</c> policy for grpc-dotnet: one subchannel per address, connected lazily by
/// picks, with the spec's sticky-TRANSIENT_FAILURE state handling, aggregation and proactive connect.
/// </summary>
/// <remarks>
/// <para>Control plane: <see cref="UpdateChannelState"/> and subchannel state callbacks run under
/// <c>_lock</c> (grpc-dotnet's ConnectionManager also serializes them under its own lock). Each builds a new
/// immutable <see cref="RingHashPicker"/> and hands it to <see cref="IChannelControlHelper.UpdateState"/>; the
/// ring is rebuilt only when the endpoints, their weights or hash keys, or the ring sizes change.</para>
/// <para>Calls that re-enter the channel (connect, dispose, re-resolve) run after <c>_lock</c> is released:
/// a subchannel's state change is raised synchronously on the calling thread.</para>
/// </remarks>
internal sealed partial class RingHashLoadBalancer : LoadBalancer
{
    private readonly object _lock = new();
    private readonly IChannelControlHelper _controller;
    private readonly ILogger _logger;
    private readonly RingHashOptions _defaults;
    private readonly Random _random;
    private readonly GrpcMetrics _metrics;
    private readonly Dictionary<string, RingHashEndpoint> _byAddress = new(StringComparer.Ordinal);

    private RingHashOptions _options;
    private RingHashEndpoint[] _endpoints = [];
    private RingHashRing? _ring;
    private ConnectivityState _state = ConnectivityState.Idle;
    private bool _disposed;
    private string? _serverAddress;

    /// <summary>Initializes a new instance of the <see cref="RingHashLoadBalancer"/> class.</summary>
    /// <param name="controller">The channel.</param>
    /// <param name="loggerFactory">The logger factory.</param>
    /// <param name="defaults">Options from code, which a service config overrides field by field.</param>
    /// <param name="options">The validated options for this instance.</param>
    /// <param name="random">The random source for random request hashes.</param>
    /// <param name="metrics">Where picks are counted (the factory's meter).</param>
    public RingHashLoadBalancer(IChannelControlHelper controller, ILoggerFactory loggerFactory, RingHashOptions defaults, RingHashOptions options, Random random, GrpcMetrics? metrics = null)
    {
        _metrics = metrics ?? GrpcMetrics.Shared;
        _controller = controller;
        _logger = loggerFactory.CreateLogger<RingHashLoadBalancer>();
        _defaults = defaults;
        _options = options;
        _random = random;
    }

    /// <inheritdoc />
    public override void UpdateChannelState(ChannelState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        List<RingHashEndpoint>? removed = null;
        var connect = -1;
        RingHashEndpoint[] endpoints;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            var rebuild = ApplyConfig(state);

            if (state.Status.StatusCode != StatusCode.OK || state.Addresses is null || state.Addresses.Count == 0)
            {
                var status = state.Status.StatusCode != StatusCode.OK
                    ? state.Status
                    : new Status(StatusCode.Unavailable, "ring_hash: the resolver returned no addresses.");

                // A resolver error keeps a working set (as grpc-dotnet's own balancers do); an empty list empties it.
                if (state.Status.StatusCode != StatusCode.OK && _state == ConnectivityState.Ready)
                {
                    return;
                }

                removed = [.. _endpoints];
                _byAddress.Clear();
                _endpoints = [];
                _ring = null;
                _state = ConnectivityState.TransientFailure;
                _controller.UpdateState(new BalancerState(ConnectivityState.TransientFailure, new RingHashFailurePicker(status)));
            }
            else
            {
                rebuild |= ReconcileAddresses(state.Addresses, out removed);
                if (rebuild || _ring is null)
                {
                    _ring = RingHashRing.Build(
                        _endpoints.Select(e => e.HashKey).ToArray(),
                        _endpoints.Select(e => e.Weight).ToArray(),
                        _options.EffectiveMinRingSize,
                        _options.EffectiveMaxRingSize);
                    LogRingBuilt(_logger, _endpoints.Length, _ring.Count);
                }

                connect = PublishLocked();
            }

            endpoints = _endpoints;
        }

        // After the lock: these re-enter the channel and this balancer's callbacks.
        if (removed is not null)
        {
            foreach (var endpoint in removed)
            {
                endpoint.Registration?.Dispose();
                endpoint.Subchannel?.Dispose();
            }
        }

        Connect(endpoints, connect);
    }

    /// <inheritdoc />
    /// <remarks>
    /// grpc-dotnet calls this when a call waits for the channel to be ready. A42 connects only on picks, so an
    /// IDLE policy would never become READY: connect the first IDLE endpoint (hash-key order) unless one is
    /// already connecting.
    /// </remarks>
    public override void RequestConnection()
    {
        RingHashEndpoint[] endpoints;
        var connect = -1;
        lock (_lock)
        {
            endpoints = _endpoints;
            if (_disposed || _state != ConnectivityState.Idle)
            {
                return;
            }

            var states = endpoints.Select(e => e.State).ToArray();
            connect = RingHashAggregation.ChooseEndpointToConnect(ConnectivityState.Connecting, states);
        }

        Connect(endpoints, connect);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        RingHashEndpoint[] endpoints;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            endpoints = _endpoints;
            _endpoints = [];
            _byAddress.Clear();
        }

        foreach (var endpoint in endpoints)
        {
            endpoint.Registration?.Dispose();
            endpoint.Subchannel?.Dispose();
        }

        base.Dispose(disposing);
    }

    private static void Connect(RingHashEndpoint[] endpoints, int index)
    {
        if (index < 0)
        {
            return;
        }

        try
        {
            endpoints[index].Subchannel?.RequestConnection();
        }
        catch (InvalidOperationException)
        {
            // Shut down by a concurrent update; that update published its own state.
        }
    }

    private bool ApplyConfig(ChannelState state)
    {
        if (state.LoadBalancingConfig is not { } config
            || !string.Equals(config.PolicyName, RingHashLoadBalancerFactory.PolicyName, StringComparison.OrdinalIgnoreCase)
            || !config.Inner.TryGetValue(config.PolicyName, out var inner))
        {
            return false;
        }

        try
        {
            var next = _defaults.WithConfiguration(inner as IDictionary<string, object>);
            var resize = next.EffectiveMinRingSize != _options.EffectiveMinRingSize || next.EffectiveMaxRingSize != _options.EffectiveMaxRingSize;
            _options = next;
            return resize;
        }
        catch (RingHashConfigurationException ex)
        {
            // gRFC A21: an invalid update keeps the last good configuration.
            LogInvalidConfig(_logger, ex.Message, ex);
            return false;
        }
    }

    // Diffs the resolver's addresses against the current endpoints by "host:port": kept addresses keep their
    // subchannel (and its connection); new ones get an IDLE subchannel (A42 connects lazily); the rest are
    // returned for disposal. Returns whether the ring must be rebuilt.
    private bool ReconcileAddresses(IReadOnlyList<BalancerAddress> addresses, out List<RingHashEndpoint>? removed)
    {
        var rebuild = false;
        var seen = new Dictionary<string, (string AddressKey, string HashKey, long Weight, BalancerAddress Address)>(StringComparer.Ordinal);
        foreach (var endpoint in RingHashEndpointKey.Merge(addresses))
        {
            seen.Add(endpoint.AddressKey, endpoint);
        }

        removed = null;
        foreach (var (key, endpoint) in _byAddress)
        {
            if (!seen.ContainsKey(key))
            {
                (removed ??= []).Add(endpoint);
            }
        }

        if (removed is not null)
        {
            rebuild = true;
            foreach (var endpoint in removed)
            {
                endpoint.Removed = true;
                _byAddress.Remove(endpoint.AddressKey);
            }
        }

        foreach (var (key, (_, hashKey, weight, address)) in seen)
        {
            if (!_byAddress.TryGetValue(key, out var endpoint))
            {
                var subchannel = _controller.CreateSubchannel(new SubchannelOptions([address]));
                endpoint = new RingHashEndpoint(key, subchannel, address.EndPoint.Host, address.EndPoint.Port);
                var captured = endpoint;
                endpoint.Registration = subchannel.OnStateChanged(s => OnSubchannelStateChanged(captured, s));
                _byAddress.Add(key, endpoint);
                rebuild = true;
            }

            if (_serverAddress is null && address.Attributes.TryGetValue(KubernetesBalancerAttributes.HostOverride, out string? authority))
            {
                _serverAddress = GrpcTracing.ServerAddressOf(authority); // the same for every address of the channel
            }

            if (endpoint.HashKey != hashKey || endpoint.Weight != weight)
            {
                endpoint.HashKey = hashKey;
                endpoint.Weight = weight;
                rebuild = true;
            }
        }

        if (rebuild)
        {
            // Endpoint index = position in hash-key order (ties by address), the order the ring is built in.
            _endpoints = [.. _byAddress.Values
                .OrderBy(e => e.HashKey, StringComparer.Ordinal)
                .ThenBy(e => e.AddressKey, StringComparer.Ordinal)];
        }

        return rebuild;
    }

    private void OnSubchannelStateChanged(RingHashEndpoint endpoint, SubchannelState state)
    {
        var connect = -1;
        var refresh = false;
        RingHashEndpoint[] endpoints;
        lock (_lock)
        {
            if (_disposed || endpoint.Removed || state.State == ConnectivityState.Shutdown)
            {
                return;
            }

            var previousRaw = endpoint.RawState;
            var previous = endpoint.State;
            endpoint.RawState = state.State;
            endpoint.State = RingHashEndpoint.NextState(previous, state.State);
            if (state.State == ConnectivityState.TransientFailure)
            {
                endpoint.FailureResult = PickResult.ForFailure(new Status(
                    StatusCode.Unavailable,
                    "ring_hash: endpoint " + endpoint.AddressKey + " is in TRANSIENT_FAILURE: " + state.Status.Detail,
                    state.Status.DebugException));
            }

            // As grpc-dotnet's balancers do: a failed connect or a dropped connection asks the resolver again.
            refresh = state.State == ConnectivityState.TransientFailure
                || (previousRaw == ConnectivityState.Ready && state.State == ConnectivityState.Idle);
            LogEndpointState(_logger, endpoint.AddressKey, state.State, endpoint.State);

            connect = _ring is null ? -1 : PublishLocked();
            endpoints = _endpoints;
        }

        if (refresh)
        {
            _controller.RefreshResolver();
        }

        Connect(endpoints, connect);
    }

    // Step 1 – aggregate; Step 2 – publish a picker over the current ring and states; Step 3 – return the
    // endpoint to connect proactively (A42: keep one connecting while CONNECTING or TRANSIENT_FAILURE), which the
    // caller connects after releasing the lock.
    private int PublishLocked()
    {
        var states = new ConnectivityState[_endpoints.Length];
        for (var i = 0; i < states.Length; i++)
        {
            states[i] = _endpoints[i].State;
        }

        _state = RingHashAggregation.Aggregate(states);
        var picker = new RingHashPicker(_ring!, _endpoints, _options.RequestHashHeader, _random, _metrics, _serverAddress);
        _controller.UpdateState(new BalancerState(_state, picker));
        return RingHashAggregation.ChooseEndpointToConnect(_state, states);
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Debug, Message = "ring_hash: built a ring of {EntryCount} entries over {EndpointCount} endpoints.")]
    private static partial void LogRingBuilt(ILogger logger, int endpointCount, int entryCount);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Debug, Message = "ring_hash: endpoint {Address} reported {RawState}; the policy treats it as {State}.")]
    private static partial void LogEndpointState(ILogger logger, string address, ConnectivityState rawState, ConnectivityState state);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Warning, Message = "ring_hash: ignoring an invalid service config (keeping the previous one): {Reason}")]
    private static partial void LogInvalidConfig(ILogger logger, string reason, Exception exception);
}
