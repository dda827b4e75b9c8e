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
/// one header lookup, one XXH64, one binary search, one cached <see cref="PickResult"/>.
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

    /// <summary>Initializes a new instance of the <see cref="RingHashPicker"/> class.</summary>
    /// <param name="ring">The ring, whose endpoint indexes refer to <paramref name="endpoints"/>.</param>
    /// <param name="endpoints">The endpoints in hash-key order; their current state is copied.</param>
    /// <param name="requestHashHeader">The A76 header, or null for a random hash on every pick.</param>
    /// <param name="random">The random source for random hashes (thread-safe, e.g. <see cref="Random.Shared"/>).</param>
    public RingHashPicker(RingHashRing ring, IReadOnlyList<RingHashEndpoint> endpoints, string? requestHashHeader, Random random)
    {
        _ring = ring;
        _requestHashHeader = requestHashHeader;
        _random = random;
        var count = endpoints.Count;
        _states = new ConnectivityState[count];
        _rawStates = new ConnectivityState[count];
        _readyResults = new PickResult?[count];
        _failureResults = new PickResult[count];
        _subchannels = new Subchannel?[count];
        _connectRequested = new int[count];
        for (var i = 0; i < count; i++)
        {
            var endpoint = endpoints[i];
            _states[i] = endpoint.State;
            _rawStates[i] = endpoint.RawState;
            _readyResults[i] = endpoint.ReadyResult;
            _failureResults[i] = endpoint.FailureResult;
            _subchannels[i] = endpoint.Subchannel;
            _anyConnecting |= endpoint.State == ConnectivityState.Connecting;
        }
    }

    /// <summary>Gets the ring this picker picks from.</summary>
    internal RingHashRing Ring => _ring;

    /// <inheritdoc />
    public override PickResult Pick(PickContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
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

        return decision.Kind switch
        {
            RingHashPickKind.Pick => _readyResults[decision.Endpoint] ?? QueueResult,
            RingHashPickKind.Fail => _failureResults[decision.Endpoint],
            _ => QueueResult,
        };
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
