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
/// <see cref="Reserve"/>d count that <see cref="Start"/> confirms. A call counts from its pick (so concurrent picks see
/// each other, and the bounded-load cap holds exactly) to <see cref="Complete"/>, which grpc-dotnet calls when the
/// response headers arrive (or the send fails).
/// </para>
/// <para>
/// Reservations age at picker rebuilds: <see cref="Reclaim"/> gives back the ones aged at an earlier rebuild and ages
/// the rest, at most once per <see cref="MinimumAge"/> (grpc-dotnet often rebuilds two or three times for one change).
/// So a reservation lives at least <see cref="MinimumAge"/>, and a call picked just before a rebuild still finds it
/// when its <see cref="Start"/> comes (were it given back, <see cref="Start"/> would count the call again without a
/// cap check, after another pick may have taken the room). A dropped pick's subchannel left the ready set, so its
/// tracker is retired at the rebuild that follows and <see cref="ReclaimAll"/> gives its reservations back at once; a
/// reservation never started on a subchannel that stays ready (which grpc-dotnet does not do) goes back at the second
/// aging rebuild.
/// </para>
/// <para>
/// Streaming: <see cref="GrpcCallTrackingHandler"/>, when it is on the channel's handler chain, takes a
/// <see cref="Hold"/> at the response headers, just before grpc-dotnet's <see cref="Complete"/>; that
/// <see cref="Complete"/> then keeps the call's count instead of releasing it, and <see cref="ReleaseHold"/> releases
/// it when the body ends, so a call counts until its last message and never twice (a count added at the headers and
/// released at <see cref="Complete"/> would count it twice for a moment, and that moment raises the cap of every
/// concurrent placement). Holds are fungible between the calls of one tracker, like reservations: any
/// <see cref="Complete"/> may keep the count a concurrent call's hold asked for, and that call's own
/// <see cref="Complete"/> then releases; the endpoint's count never drops below its calls in flight.
/// </para>
/// </remarks>
internal sealed class SubchannelCallTracker : ISubchannelCallTracker
{
    private static readonly ConditionalWeakTable<Subchannel, SubchannelCallTracker> BySubchannel = new();

    // Reservations of picks whose Start has not come yet, in one word so that Start and Reclaim see both ages in one
    // atomic read: the low half made since the last rebuild, the high half made before it. Fungible between calls.
    private const long OneOlder = 1L << 32;
    private const long NewerMask = OneOlder - 1;

    /// <summary>How long a reservation is kept at least, for its call's <see cref="Start"/> (grpc-dotnet calls it right after the pick).</summary>
    public static readonly TimeSpan MinimumAge = TimeSpan.FromSeconds(1);

    private readonly bool[] _failureCodes;
    private readonly TimeProvider _time;
    private readonly long _minimumAgeTicks;
    // When the newer reservations last became older ones (touched by Reclaim only, which rebuilds serialize).
    private long _agedAt;
    // Verdicts of trailers-only responses seen by the handler at the headers, consumed by the Complete that follows.
    // Two calls of one endpoint completing at once may swap verdicts; the counts of failures and successes stay right.
    private int _pendingFailures;
    private long _reserved;
    // Holds taken at the response headers whose Complete has not come yet (see Hold).
    private int _holds;

    public SubchannelCallTracker(Subchannel subchannel, EndpointState state, bool[] failureCodes, TimeProvider time)
    {
        Subchannel = subchannel;
        State = state;
        _failureCodes = failureCodes;
        _time = time;
        _minimumAgeTicks = (long)(MinimumAge.TotalSeconds * time.TimestampFrequency);
        _agedAt = time.GetTimestamp();
    }

    public Subchannel Subchannel { get; }

    public EndpointState State { get; }

    /// <summary>Requests in flight on the endpoint, as the policy counts them.</summary>
    public int InFlight => State.InFlight;

    /// <summary>Reservations not confirmed by a <see cref="Start"/> yet (for tests).</summary>
    internal int Reserved
    {
        get
        {
            long reserved = Volatile.Read(ref _reserved);
            return (int)(reserved >> 32) + (int)(reserved & NewerMask);
        }
    }

    /// <summary>Makes this tracker the one the handler finds for <see cref="Subchannel"/>.</summary>
    public void Register() => BySubchannel.AddOrUpdate(Subchannel, this);

    public static bool TryFind(Subchannel subchannel, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SubchannelCallTracker? tracker)
        => BySubchannel.TryGetValue(subchannel, out tracker);

    /// <summary>
    /// A pick placed a call here and kept the core's reservation (which, with bounded loads, was admitted under the
    /// cap exactly): the coming <see cref="Start"/> confirms it instead of counting again.
    /// </summary>
    public void Reserve() => Interlocked.Increment(ref _reserved);

    /// <summary>
    /// At a picker rebuild, at most once per <see cref="MinimumAge"/>: gives back the reservations aged at an earlier
    /// one, and ages the newer ones. Called by rebuilds only (serialized). Safe at any time: a call whose reservation
    /// was given back counts itself in <see cref="Start"/>.
    /// </summary>
    public void Reclaim()
    {
        long now = _time.GetTimestamp();
        if (now - _agedAt < _minimumAgeTicks)
        {
            return;
        }

        _agedAt = now;
        long current = Volatile.Read(ref _reserved);
        while (true)
        {
            long aged = (current & NewerMask) << 32;
            long seen = Interlocked.CompareExchange(ref _reserved, aged, current);
            if (seen == current)
            {
                GiveBack((int)(current >> 32));
                return;
            }

            current = seen;
        }
    }

    /// <summary>Gives back every reservation, of both ages: the tracker is retired (its subchannel or state left the set).</summary>
    public void ReclaimAll()
    {
        long reserved = Interlocked.Exchange(ref _reserved, 0);
        GiveBack((int)(reserved >> 32) + (int)(reserved & NewerMask));
    }

    public void Start()
    {
        // The oldest reservation first: it is the one the next rebuild would give back.
        long current = Volatile.Read(ref _reserved);
        while (current != 0)
        {
            long next = current >= OneOlder ? current - OneOlder : current - 1;
            long seen = Interlocked.CompareExchange(ref _reserved, next, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }

        State.AddCall();
    }

    public void Complete(CompletionContext context)
    {
        bool failed = context.Error is not null || TryTake(ref _pendingFailures);
        if (TryTake(ref _holds))
        {
            // A hold keeps the count until the response body ends (ReleaseHold); the outcome is known now.
            State.RecordOutcomeOnly(failed);
            return;
        }

        State.Release(failed);
    }

    /// <summary>
    /// Keeps the call counted past <see cref="Complete"/>, until <see cref="ReleaseHold"/> (the handler, for the response
    /// body). Call it just before grpc-dotnet's <see cref="Complete"/> of the same call, as the handler does.
    /// </summary>
    public void Hold() => Interlocked.Increment(ref _holds);

    public void ReleaseHold() => State.ReleaseUnrecorded();

    private void GiveBack(int count)
    {
        for (; count > 0; count--)
        {
            State.ReleaseUnrecorded();
        }
    }

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
