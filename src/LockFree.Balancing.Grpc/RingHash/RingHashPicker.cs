using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client.Balancer;

namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>
/// The <c>ring_hash</c> picker: an immutable snapshot of the ring and of every endpoint's state (A42 allows
/// "a new picker every time a subchannel's state changes", which is what the balancer does).
/// </summary>
/// <remarks>
/// Thread-safe: every field is readonly and every array is private to this picker and never written after
/// construction, except <c>_connectRequested</c>, a once-per-endpoint latch set with <see cref="Interlocked"/>
/// so that a burst of picks on a stale picker asks a subchannel to connect once. A READY pick allocates nothing:
/// one header lookup, one XXH64, one binary search, one cached <see cref="PickResult"/>; it is counted on
/// <c>lockfree.grpc.client.picks</c> (picker <c>ring_hash</c>) and names the pod on grpc-dotnet's call span, and with
/// the <c>LockFree.Balancing.Grpc</c> source listened to it has a <c>lockfree.pick</c> span of its own (a queued pick's
/// span says <c>lockfree.pick.queued</c>; the call is picked again on the next picker).
/// </remarks>
internal sealed class RingHashPicker : SubchannelPicker, IRingHashConnector
{
    // PERF: grpc-dotnet's PickResult.ForQueue() may allocate; one shared instance serves every queued pick.
    private static readonly PickResult QueueResult = PickResult.ForQueue();

    private readonly RingHashRing _ring;
    private readonly ConnectivityState[] _states;
    private readonly ConnectivityState[] _rawStates;
    private readonly PickResult?[] _readyResults;
    private readonly PickResult[] _failureResults;
    private readonly Subchannel?[] _subchannels;
    private readonly int[] _connectRequested;
    private readonly bool _anyConnecting;
    private readonly string? _requestHashHeader;
    private readonly Random _random;
    private readonly GrpcMetrics _metrics;
    private readonly string? _serverAddress;
    private readonly string[] _peerHosts;
    private readonly int[] _peerPorts;

    /// <summary>Initializes a new instance of the <see cref="RingHashPicker"/> class.</summary>
    /// <param name="ring">The ring, whose endpoint indexes refer to <paramref name="endpoints"/>.</param>
    /// <param name="endpoints">The endpoints in hash-key order; their current state is copied.</param>
    /// <param name="requestHashHeader">The A76 header, or null for a random hash on every pick.</param>
    /// <param name="random">The random source for random hashes (thread-safe, e.g. <see cref="Random.Shared"/>).</param>
    /// <param name="metrics">Where picks are counted and the call span is tagged (<see cref="GrpcMetrics.Shared"/> by default).</param>
    /// <param name="serverAddress">The Service host for the pick span, or null when the channel's resolver is not ours.</param>
    public RingHashPicker(RingHashRing ring, IReadOnlyList<RingHashEndpoint> endpoints, string? requestHashHeader, Random random, GrpcMetrics? metrics = null, string? serverAddress = null)
    {
        _ring = ring;
        _metrics = metrics ?? GrpcMetrics.Shared;
        _serverAddress = serverAddress;
        _requestHashHeader = requestHashHeader;
        _random = random;
        var count = endpoints.Count;
        _states = new ConnectivityState[count];
        _rawStates = new ConnectivityState[count];
        _readyResults = new PickResult?[count];
        _failureResults = new PickResult[count];
        _subchannels = new Subchannel?[count];
        _connectRequested = new int[count];
        _peerHosts = new string[count];
        _peerPorts = new int[count];
        for (var i = 0; i < count; i++)
        {
            var endpoint = endpoints[i];
            _states[i] = endpoint.State;
            _rawStates[i] = endpoint.RawState;
            _readyResults[i] = endpoint.ReadyResult;
            _failureResults[i] = endpoint.FailureResult;
            _subchannels[i] = endpoint.Subchannel;
            _peerHosts[i] = endpoint.PeerHost;
            _peerPorts[i] = endpoint.PeerPort;
            _anyConnecting |= endpoint.State == ConnectivityState.Connecting;
        }
    }

    /// <summary>Gets the ring this picker picks from.</summary>
    internal RingHashRing Ring => _ring;

    /// <inheritdoc />
    public override PickResult Pick(PickContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // PERF: one HasListeners read when nobody traces; the span exists only for a pick a listener samples.
        Activity? span = PickSpan.Start(GrpcTracing.Source);
        RingHashPickDecision decision;
        if (_requestHashHeader is not null && RingHashRequestHash.TryHash(context.Request, _requestHashHeader, out var hash))
        {
            decision = RingHashPickRules.PickForHash(_ring, _states, hash, this);
        }
        else
        {
            var random = unchecked((ulong)_random.NextInt64(long.MinValue, long.MaxValue));
            decision = RingHashPickRules.PickForRandomHash(_ring, _states, random, _anyConnecting, this);
        }

        switch (decision.Kind)
        {
            case RingHashPickKind.Pick when _readyResults[decision.Endpoint] is { } ready:
                // The pick span ends before the call span is tagged (which reads Activity.Current: the call's span again).
                int endpoint = decision.Endpoint;
                if (span is not null)
                {
                    PickSpan.Picked(span, _serverAddress, RingHashLoadBalancerFactory.PolicyName, _peerHosts[endpoint], _peerPorts[endpoint], PickOutcomeTag.Home);
                }

                _metrics.PickedReady(RingHashLoadBalancerFactory.PolicyName, _peerHosts[endpoint], _peerPorts[endpoint]);
                return ready;
            case RingHashPickKind.Fail:
                if (span is not null)
                {
                    PickSpan.Failed(span, _serverAddress, RingHashLoadBalancerFactory.PolicyName, "transient_failure", "ring_hash: every endpoint the walk reached is in TRANSIENT_FAILURE");
                }

                _metrics.PickFailed(RingHashLoadBalancerFactory.PolicyName);
                return _failureResults[decision.Endpoint];
            default:
                if (span is not null)
                {
                    PickSpan.Queued(span, _serverAddress, RingHashLoadBalancerFactory.PolicyName);
                }

                return QueueResult;
        }
    }

    /// <inheritdoc />
    public void TriggerConnect(int endpoint)
    {
        // A subchannel that is CONNECTING or in TRANSIENT_FAILURE is already in grpc-dotnet's connect loop, which
        // retries after backoff by itself; RequestConnection would cut that backoff short, so only IDLE connects.
        if (_rawStates[endpoint] != ConnectivityState.Idle || Interlocked.Exchange(ref _connectRequested[endpoint], 1) != 0)
        {
            return;
        }

        try
        {
            // Synchronous: the state change it causes publishes the next picker before this pick queues.
            _subchannels[endpoint]?.RequestConnection();
        }
        catch (InvalidOperationException)
        {
            // The subchannel was shut down (or disposed, ObjectDisposedException) by a resolver update racing this
            // pick; the next picker has no such endpoint.
        }
    }
}
