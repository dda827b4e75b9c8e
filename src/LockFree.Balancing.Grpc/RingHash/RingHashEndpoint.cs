using Grpc.Core;
using Grpc.Net.Client.Balancer;

namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>
/// One address of the policy: its subchannel, the state the policy tracks for it, and its cached pick result.
/// </summary>
/// <remarks>
/// Lives as long as its subchannel, across resolver updates that keep the address. The mutable fields are read
/// and written only under the balancer's lock; pickers copy what they need into their own immutable arrays and
/// read only the readonly fields of this object.
/// </remarks>
internal sealed class RingHashEndpoint
{
    public RingHashEndpoint(string addressKey, Subchannel? subchannel, string? peerHost = null, int peerPort = 0)
    {
        AddressKey = addressKey;
        PeerHost = peerHost ?? addressKey;
        PeerPort = peerPort;
        Subchannel = subchannel;
        HashKey = addressKey;
        // PERF: one PickResult per subchannel, reused by every pick that lands here (grpc-dotnet's own pickers
        // allocate one per pick).
        ReadyResult = subchannel is null ? null : PickResult.ForSubchannel(subchannel);
        FailureResult = PickResult.ForFailure(new Status(StatusCode.Unavailable, "ring_hash: endpoint " + addressKey + " is in TRANSIENT_FAILURE."));
    }

    /// <summary>Gets the "host:port" text that identifies the address across resolver updates.</summary>
    public string AddressKey { get; }

    /// <summary>Gets the address's host, for <c>network.peer.address</c> on the call and pick spans.</summary>
    public string PeerHost { get; }

    /// <summary>Gets the address's port, for <c>network.peer.port</c>.</summary>
    public int PeerPort { get; }

    /// <summary>Gets the subchannel (null only in tests of the rules).</summary>
    public Subchannel? Subchannel { get; }

    /// <summary>Gets the cached result of a pick of this endpoint.</summary>
    public PickResult? ReadyResult { get; }

    /// <summary>Gets or sets the hash key (A76 <c>hash_key</c> or the address).</summary>
    public string HashKey { get; set; }

    /// <summary>Gets or sets the weight, summed over duplicate addresses.</summary>
    public long Weight { get; set; } = 1;

    /// <summary>Gets or sets the state the subchannel last reported.</summary>
    public ConnectivityState RawState { get; set; } = ConnectivityState.Idle;

    /// <summary>Gets or sets the state the policy uses (A42: TRANSIENT_FAILURE sticks until READY).</summary>
    public ConnectivityState State { get; set; } = ConnectivityState.Idle;

    /// <summary>Gets or sets the failure reported for picks that fail on this endpoint.</summary>
    public PickResult FailureResult { get; set; }

    /// <summary>Gets or sets the state-change subscription.</summary>
    public IDisposable? Registration { get; set; }

    /// <summary>Gets or sets a value indicating whether the endpoint left the address list.</summary>
    public bool Removed { get; set; }

    /// <summary>
    /// Applies a subchannel state (A42 "Subchannel State Handling"): once in TRANSIENT_FAILURE the endpoint stays
    /// there until READY, whatever CONNECTING/IDLE the retries report; READY that drops reports IDLE.
    /// </summary>
    /// <param name="current">The policy's state for the endpoint so far.</param>
    /// <param name="raw">The reported state.</param>
    /// <returns>The policy's state for the endpoint.</returns>
    public static ConnectivityState NextState(ConnectivityState current, ConnectivityState raw) =>
        current == ConnectivityState.TransientFailure && raw != ConnectivityState.Ready
            ? ConnectivityState.TransientFailure
            : raw;
}
