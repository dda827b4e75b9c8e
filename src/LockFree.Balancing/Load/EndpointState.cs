using System.Runtime.CompilerServices;

namespace LockFree.Balancing.Load;

/// <summary>
/// The mutable, shared half of an endpoint: its in-flight counter. One instance per endpoint key
/// per balancer, reused by every snapshot that contains the key, so the count survives snapshot
/// swaps; a lease holds its own reference, so releasing works even after the endpoint was removed.
/// </summary>
/// <remarks>
/// Concurrency: <see cref="Endpoint"/> is written only by the balancer's serialized writer and
/// read by anyone; the counter word (count and detached flag) is changed only with compare-and-swap:
/// acquires and releases by anyone, <see cref="Attach"/> and <see cref="Detach"/> by the writer.
/// PERF (IdleGuess): acquires and releases open with a compare-and-swap that guesses the common word (0 requests
/// for an acquire, 1 for a release) instead of reading the word first. When another core wrote the line last, a read
/// fetches it shared and the swap then upgrades it, two transfers; the guessing swap takes it for writing at once,
/// and a wrong guess returns the current word as the read would have.
/// </remarks>
internal sealed partial class EndpointState
{
    private readonly InFlightTotal? _total;
    private readonly OutlierDetector? _ejection;
    private readonly TimeProvider _time;
    private PaddedCounter _inFlight;
    private Endpoint _endpoint;
    private long _ignoredReleases;

    // The other load measures. Doubles are stored as their bits so they can be read and written
    // atomically on every platform; the request-rate pair is updated without a lock (see RecordRequest).
    private long _reportedLoadBits;
    private long _reportedTimestamp;
    private long _rateBits;
    private long _rateTimestamp;

    public EndpointState(Endpoint endpoint, InFlightTotal? total, OutlierDetector? ejection, TimeProvider time)
    {
        _endpoint = endpoint;
        _total = total;
        _ejection = ejection;
        _time = time;
    }

    // Outlier ejection state, owned by OutlierDetector: failures in a row (interlocked), and, written only
    // under the detector's lock, the timestamp the current ejection ends (ejected while the clock is before
    // it; picks only read it), how many times in a row the endpoint was ejected and when the last one ended.
    internal int ConsecutiveFailures;
    internal long EjectedUntil;
    internal int Ejections;
    internal long LastEjectionEnd;

    /// <summary>The latest attributes published for this key (weight and labels may change, the key never does).</summary>
    public Endpoint Endpoint
    {
        get => Volatile.Read(ref _endpoint);
        set => Volatile.Write(ref _endpoint, value);
    }

    // The counter word holds the in-flight count in its low 30 bits and, in bit 30, whether the state is detached:
    // not a pickable endpoint of the current set (removed and draining, forgotten, or weight 0). One word, so that
    // every acquire and release sees membership and count together: an acquire on a detached state is refused,
    // and a release knows atomically whether its request is still in the balancer's total.
    private const int DetachedFlag = 1 << 30;
    private const int CountMask = DetachedFlag - 1;

    /// <summary>Requests acquired on this endpoint and not yet released.</summary>
    public int InFlight => Volatile.Read(ref _inFlight.Value) & CountMask;

    /// <summary>True while the state is not a pickable endpoint of the current set: it admits no request.</summary>
    public bool IsDetached => (Volatile.Read(ref _inFlight.Value) & DetachedFlag) != 0;

    /// <summary>
    /// Counts one more request in flight unless the state is detached; false then, and the caller retries on the
    /// current snapshot (it read one in which this endpoint was still pickable).
    /// </summary>
    public bool TryAdd()
    {
        // PERF: speculate that the endpoint is idle (IdleGuess); a miss returns the current word, as a read would.
        int current = Interlocked.CompareExchange(ref _inFlight.Value, 1, 0);
        if (current == 0)
        {
            return true;
        }

        while ((current & DetachedFlag) == 0)
        {
            int seen = Interlocked.CompareExchange(ref _inFlight.Value, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    /// <summary>
    /// Counts a request in flight only if none is (and the state is not detached): an idle endpoint admits under any
    /// capacity, so a placement can take it without reading the total.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAddIfIdle()
        => Interlocked.CompareExchange(ref _inFlight.Value, 1, 0) == 0; // PERF: IdleGuess, no read first

    /// <summary>
    /// Counts one more request in flight only if <paramref name="capacity"/> admits it and the state is not
    /// detached: the compare-and-swap makes the bound exact for the capacity read, where a check-then-increment
    /// would let two threads both take the last slot. A false answer with <see cref="IsDetached"/> true means stale.
    /// </summary>
    public bool TryAddWithin(LoadCapacity capacity)
    {
        // PERF: IdleGuess: an idle endpoint admits under any capacity (never below 1).
        int current = Interlocked.CompareExchange(ref _inFlight.Value, 1, 0);
        return current == 0 || TryAddWithinFrom(current, capacity);
    }

    /// <summary>
    /// <see cref="TryAddWithin"/> that reads the word before any compare-and-swap, for sweeps over every endpoint, which
    /// meet mostly full ones: there a guess fails on each, and a failed swap is a locked instruction where a read is a
    /// load (an acquire that found every endpoint full took 8.9 µs at N = 1000 with the guess, 6.5–7.0 µs reading first).
    /// </summary>
    public bool TryAddWithinReadFirst(LoadCapacity capacity)
        => TryAddWithinFrom(Volatile.Read(ref _inFlight.Value), capacity);

    private bool TryAddWithinFrom(int current, LoadCapacity capacity)
    {
        while ((current & DetachedFlag) == 0 && capacity.Admits(current))
        {
            int seen = Interlocked.CompareExchange(ref _inFlight.Value, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    /// <summary>
    /// Writer only, after publishing a snapshot in which this endpoint is not pickable: from now on it admits
    /// nothing, and its requests leave the balancer total (they are no longer balls in a current bin).
    /// </summary>
    public void Detach()
    {
        int current = Volatile.Read(ref _inFlight.Value);
        while ((current & DetachedFlag) == 0)
        {
            int seen = Interlocked.CompareExchange(ref _inFlight.Value, current | DetachedFlag, current);
            if (seen == current)
            {
                // Releases before the swap returned their total themselves; releases after it will not.
                _total?.Add(-(current & CountMask));
                return;
            }

            current = seen;
        }
    }

    /// <summary>Writer only, before publishing a snapshot in which this endpoint is pickable: its requests rejoin the total.</summary>
    public void Attach()
    {
        int current = Volatile.Read(ref _inFlight.Value);
        while ((current & DetachedFlag) != 0)
        {
            int seen = Interlocked.CompareExchange(ref _inFlight.Value, current & CountMask, current);
            if (seen == current)
            {
                _total?.Add(current & CountMask);
                return;
            }

            current = seen;
        }
    }

    /// <summary>The last load the backend reported for itself (0 until one is reported), before any decay.</summary>
    public double ReportedLoad => BitConverter.Int64BitsToDouble(Volatile.Read(ref _reportedLoadBits));

    /// <summary>Records a load the backend reported now, on the balancer's clock (a lease's report: no key lookup).</summary>
    public void ReportLoad(double load) => ReportLoad(load, _time.GetTimestamp());

    /// <summary>Records a load the backend reported at <paramref name="now"/>.</summary>
    /// <remarks>The value and its time are two writes: a reader between them decays the new value from the old time, a harmless slip of one report's age.</remarks>
    public void ReportLoad(double load, long now)
    {
        Volatile.Write(ref _reportedLoadBits, BitConverter.DoubleToInt64Bits(load));
        Volatile.Write(ref _reportedTimestamp, now);
    }

    /// <summary>
    /// The last reported load, decayed by its age: value · 2^(−age/halfLife). A backend that reported a high load
    /// and then received nothing (because of that load) is not shunned forever: its old report fades, a request
    /// reaches it again, and its answer reports afresh.
    /// </summary>
    public double DecayedReportedLoad(long now, double decayPerTick)
    {
        long then = Volatile.Read(ref _reportedTimestamp);
        double value = ReportedLoad;
        long elapsed = now - then;
        return elapsed <= 0 || value == 0 ? value : value * Math.Exp(-elapsed * decayPerTick);
    }

    /// <summary>
    /// Adds one request to the exponentially decaying request count (half-life given as a decay rate per
    /// timestamp tick): value(now) = value(then) · 2^(−Δt/halfLife) + 1.
    /// </summary>
    /// <remarks>
    /// Lock-free and approximate by design: two threads recording at once may each decay the same old
    /// value and one increment is lost. The rate is an estimate that steers power of two choices; an exact
    /// update would need a 128-bit compare-and-swap on every acquire.
    /// </remarks>
    public void RecordRequest(long now, double decayPerTick)
    {
        double current = DecayedRequests(now, decayPerTick);
        Volatile.Write(ref _rateBits, BitConverter.DoubleToInt64Bits(current + 1));
        Volatile.Write(ref _rateTimestamp, now);
    }

    /// <summary>The decaying request count at <paramref name="now"/>: proportional to the recent request rate.</summary>
    public double DecayedRequests(long now, double decayPerTick)
    {
        long then = Volatile.Read(ref _rateTimestamp);
        double value = BitConverter.Int64BitsToDouble(Volatile.Read(ref _rateBits));
        long elapsed = now - then;
        return elapsed <= 0 || value == 0 ? value : value * Math.Exp(-elapsed * decayPerTick);
    }

    /// <summary>
    /// Releases that found the count at 0 and were refused: a lease released twice (through a copy, a
    /// <see langword="readonly"/> field's defensive copy, or two threads disposing one variable). Diagnostics only.
    /// </summary>
    public long IgnoredReleases => Interlocked.Read(ref _ignoredReleases);

    /// <summary>
    /// Ends one request: the endpoint count and, when kept, the balancer total; reports the outcome to ejection.
    /// A release that finds the count at 0 is a duplicate: it is refused and counted in <see cref="IgnoredReleases"/>,
    /// and changes nothing else.
    /// </summary>
    public void Release(bool failed = false)
    {
        if (!TryReleaseCount())
        {
            return;
        }

        if (_ejection is not null)
        {
            if (failed)
            {
                _ejection.RecordFailure(this);
            }
            else
            {
                OutlierDetector.RecordSuccess(this);
            }
        }
    }

    /// <summary>The count half of a release: false (and counted in <see cref="IgnoredReleases"/>) for a duplicate.</summary>
    private bool TryReleaseCount()
    {
        // A plain decrement would take the count to −1 on a duplicate release, and the bounded-load check reads
        // a negative load as a huge unsigned one: the endpoint would get nothing from then on. The CAS refuses to
        // go below 0. A lease is a struct, so copies cannot be told apart; a duplicate while other requests are in
        // flight takes one of theirs, and that request's own release is then the one refused and counted.
        // PERF: IdleGuess: most releases take an endpoint from 1 request to 0.
        int current = Interlocked.CompareExchange(ref _inFlight.Value, 0, 1);
        if (current != 1)
        {
            while (true)
            {
                if ((current & CountMask) == 0)
                {
                    Interlocked.Increment(ref _ignoredReleases);
                    return false;
                }

                int seen = Interlocked.CompareExchange(ref _inFlight.Value, current - 1, current);
                if (seen == current)
                {
                    break;
                }

                current = seen;
            }
        }

        // The total holds the requests of attached states only: Detach took this one out if it ran first.
        if ((current & DetachedFlag) == 0)
        {
            _total?.Release();
        }

        return true;
    }
}
