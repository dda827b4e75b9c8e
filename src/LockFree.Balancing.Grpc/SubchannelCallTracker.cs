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
/// The count is taken in <see cref="Start"/>, never in the pick: grpc-dotnet drops a pick whose subchannel stopped
/// being ready without calling <see cref="Start"/>, and a count taken in the pick would leak. grpc-dotnet calls
/// <see cref="Start"/> right after handing the request to the transport and <see cref="Complete"/> when the response
/// headers arrive (or the send fails).
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

    public void Start() => State.AddCall();

    public void Complete(CompletionContext context)
    {
        bool failed = context.Error is not null || TryTakePendingFailure();
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

    private bool TryTakePendingFailure()
    {
        int pending = Volatile.Read(ref _pendingFailures);
        while (pending > 0)
        {
            int seen = Interlocked.CompareExchange(ref _pendingFailures, pending - 1, pending);
            if (seen == pending)
            {
                return true;
            }

            pending = seen;
        }

        return false;
    }
}
