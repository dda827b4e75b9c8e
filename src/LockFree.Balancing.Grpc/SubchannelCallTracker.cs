using System.Runtime.CompilerServices;
using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Load;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// Counts the calls of one subchannel on its endpoint's in-flight counter in the policy's core balancer. One instance
/// per (subchannel, endpoint state), cached across pickers, so a pick allocates nothing.
/// </summary>
/// <remarks>
/// <para>
/// grpc-dotnet drops a pick whose subchannel stopped being ready without calling <see cref="Start"/>, so a count
/// taken in the pick must not be trusted to end. The pick keeps the core's placement reservation as a
/// <see cref="Reserve"/>d count that <see cref="Start"/> confirms; unconfirmed reservations are given back by
/// <see cref="Reclaim"/> at the next picker rebuild (a drop always causes one). A call counts from its pick (so
/// concurrent picks see each other, and the bounded-load cap holds exactly) to <see cref="Complete"/>, which
/// grpc-dotnet calls when the response headers arrive (or the send fails).
/// </para>
/// <para>
/// Streaming: <see cref="GrpcCallTrackingHandler"/>, when it is on the channel's handler chain, takes a
/// <see cref="Hold"/> at the response headers (before <see cref="Complete"/> runs) and releases it when the body ends,
/// so a call counts until its last message; it also turns a failing <c>grpc-status</c> into an ejection failure.
/// </para>
/// </remarks>
internal sealed class SubchannelCallTracker : ISubchannelCallTracker
{
    private static readonly ConditionalWeakTable<Subchannel, SubchannelCallTracker> BySubchannel = new();

    private readonly bool[] _failureCodes;
    // Verdicts of trailers-only responses seen by the handler at the headers, consumed by the Complete that follows.
    // Two calls of one endpoint completing at once may swap verdicts; the counts of failures and successes stay right.
    private int _pendingFailures;
    // Placements reserved by picks whose Start has not come yet (see Reserve). Fungible between calls: any Start
    // confirms any one of them.
    private int _reserved;

    public SubchannelCallTracker(Subchannel subchannel, EndpointState state, bool[] failureCodes)
    {
        Subchannel = subchannel;
        State = state;
        _failureCodes = failureCodes;
    }

    public Subchannel Subchannel { get; }

    public EndpointState State { get; }

    /// <summary>Requests in flight on the endpoint, as the policy counts them.</summary>
    public int InFlight => State.InFlight;

    /// <summary>Makes this tracker the one the handler finds for <see cref="Subchannel"/>.</summary>
    public void Register() => BySubchannel.AddOrUpdate(Subchannel, this);

    public static bool TryFind(Subchannel subchannel, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SubchannelCallTracker? tracker)
        => BySubchannel.TryGetValue(subchannel, out tracker);

    /// <summary>
    /// A pick placed a call here and kept the core's reservation (which, with bounded loads, was admitted under the
    /// cap exactly): the coming <see cref="Start"/> confirms it instead of counting again. A pick grpc-dotnet drops never
    /// starts; its reservation is given back by <see cref="Reclaim"/>.
    /// </summary>
    public void Reserve() => Interlocked.Increment(ref _reserved);

    /// <summary>
    /// Gives back every unconfirmed reservation. Safe at any time: a call whose reservation was reclaimed counts itself
    /// in <see cref="Start"/>. Called on every picker rebuild: grpc-dotnet drops a pick only when its subchannel stopped
    /// being ready, a state change after which it rebuilds the picker as soon as any subchannel is ready.
    /// </summary>
    public void Reclaim()
    {
        for (int n = Interlocked.Exchange(ref _reserved, 0); n > 0; n--)
        {
            State.ReleaseUnrecorded();
        }
    }

    public void Start()
    {
        if (!TryTake(ref _reserved))
        {
            State.AddCall();
        }
    }

    public void Complete(CompletionContext context)
    {
        bool failed = context.Error is not null || TryTake(ref _pendingFailures);
        State.Release(failed);
    }

    /// <summary>Keeps the call counted past <see cref="Complete"/>, until <see cref="ReleaseHold"/> (the handler, for the response body).</summary>
    public void Hold() => State.AddCall();

    public void ReleaseHold() => State.ReleaseUnrecorded();

    public bool IsFailure(int statusCode) => (uint)statusCode < (uint)_failureCodes.Length && _failureCodes[statusCode];

    /// <summary>A failing status seen at the headers: the coming <see cref="Complete"/> reports a failure.</summary>
    public void FailureAtHeaders() => Interlocked.Increment(ref _pendingFailures);

    /// <summary>A failing status seen in the trailers, after <see cref="Complete"/> reported the call.</summary>
    public void FailureAtTrailers() => State.RecordFailureOnly();

    private static bool TryTake(ref int counter)
    {
        int pending = Volatile.Read(ref counter);
        while (pending > 0)
        {
            int seen = Interlocked.CompareExchange(ref counter, pending - 1, pending);
            if (seen == pending)
            {
                return true;
            }

            pending = seen;
        }

        return false;
    }
}
