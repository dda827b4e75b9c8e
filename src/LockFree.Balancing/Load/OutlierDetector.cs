using System.Runtime.CompilerServices;

namespace LockFree.Balancing.Load;

/// <summary>
/// Passive outlier ejection for one balancer: counts consecutive failures per endpoint, ejects an endpoint
/// for a time that doubles with repeated ejections, caps the share ejected at once, and lets ejections
/// end by themselves.
/// </summary>
/// <remarks>
/// <para>
/// Picks only read. An endpoint is ejected while the clock is before its <see cref="EndpointState.EjectedUntil"/>;
/// a pick reads <see cref="AnyEjected"/> (one counter) and, only when it is set, the clock and its candidates'
/// end times. Nothing a pick does changes ejection state.
/// </para>
/// <para>
/// Everything that changes it (an ejection, an endpoint leaving the set, pruning ejections that ended) runs
/// under one lock: ejections are rare, and the lock keeps the share cap exact and the counter equal to the
/// set of ejected endpoints. Once the latest ejection has ended, the next pick prunes with
/// <see cref="Lock.TryEnter()"/>, which never waits: if the lock is busy, a later pick prunes.
/// </para>
/// </remarks>
internal sealed class OutlierDetector
{
    private readonly Lock _gate = new();
    private readonly List<EndpointState> _ejected = [];   // guarded by _gate
    private readonly int _threshold;
    private readonly long _baseTicks;
    private readonly long _maxTicks;
    // The share cap in millionths, rounded once: the cap is then exact integer arithmetic (floor(0.29 · 100) in
    // floating point is 28, because 0.29 is stored as 0.28999…).
    private readonly long _maxShareMillionths;
    private readonly TimeProvider _time;
    private readonly Func<BalancerSnapshot> _currentSnapshot;
    private readonly Action<EndpointEjection>? _onEjected;
    private PaddedCounter _active;                         // _ejected.Count, written under _gate
    private long _latestEnd;                               // written under _gate
    private long _epoch;                                   // written under _gate

    public OutlierDetector(OutlierEjectionOptions options, TimeProvider time, Func<BalancerSnapshot> currentSnapshot, Action<EndpointEjection>? onEjected = null)
    {
        _threshold = options.ConsecutiveFailures;
        _baseTicks = ToTicks(options.BaseEjectionTime, time);
        _maxTicks = ToTicks(options.MaxEjectionTime, time);
        _maxShareMillionths = (long)Math.Round(options.MaxEjectedShare * 1_000_000);
        _time = time;
        _currentSnapshot = currentSnapshot;
        _onEjected = onEjected;
    }

    /// <summary>True while some ejection has not been pruned: picks must then check their candidates.</summary>
    public bool AnyEjected
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _active.Value) != 0;
    }

    /// <summary>
    /// Changes whenever the set of ejected endpoints changes by an ejection, a removal or a prune (always after the
    /// end times it reflects are written), so a table of available endpoints built after reading it is current
    /// while it stays equal and no excluded ejection has ended by time.
    /// </summary>
    public long Epoch => Volatile.Read(ref _epoch);

    /// <summary>Reads the clock for a pick; once every ejection has ended, prunes them if the lock is free.</summary>
    public long Refresh()
    {
        long now = _time.GetTimestamp();
        if (now >= Volatile.Read(ref _latestEnd) && _gate.TryEnter())
        {
            try
            {
                Prune(now);
            }
            finally
            {
                _gate.Exit();
            }
        }

        return now;
    }

    /// <summary>True when <paramref name="state"/> is ejected at <paramref name="now"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsEjected(EndpointState state, long now) => now < Volatile.Read(ref state.EjectedUntil);

    /// <summary>The ejection's remaining time at <paramref name="now"/>, or <see langword="null"/>.</summary>
    public TimeSpan? Remaining(EndpointState state, long now)
    {
        long until = Volatile.Read(ref state.EjectedUntil);
        return now < until ? _time.GetElapsedTime(now, until) : null;
    }

    /// <summary>A request on <paramref name="state"/> succeeded: the run of failures is over.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RecordSuccess(EndpointState state)
    {
        // Read first: a write on every release would bounce the line between threads for nothing.
        if (Volatile.Read(ref state.ConsecutiveFailures) != 0)
        {
            Volatile.Write(ref state.ConsecutiveFailures, 0);
        }
    }

    /// <summary>A request on <paramref name="state"/> failed: counts it and ejects the endpoint at the threshold.</summary>
    public void RecordFailure(EndpointState state)
    {
        // A failure of a request that was in flight while the endpoint was ejected says nothing new: without
        // this, the first failure after the ejection ends would eject it again at once, for twice as long.
        if (IsEjected(state, _time.GetTimestamp()) || Interlocked.Increment(ref state.ConsecutiveFailures) < _threshold)
        {
            return;
        }

        EndpointEjection? ejection = Eject(state);
        if (ejection is { } happened)
        {
            // Outside the lock: the observer may log or count, and must not hold up other threads' failures.
            _onEjected?.Invoke(happened);
        }
    }

    // The ejection decision under the lock; what it decided, for the observer, or null when it declined.
    private EndpointEjection? Eject(EndpointState state)
    {
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            Prune(now);
            if (Volatile.Read(ref state.ConsecutiveFailures) < _threshold || IsEjected(state, now))
            {
                return null; // a success reset the run meanwhile, or another failure already ejected it
            }

            // Step 1 – the share cap, over the endpoints that can receive requests now. A removed (draining)
            // endpoint gets no new requests anyway and is not ejected.
            BalancerSnapshot snapshot = _currentSnapshot();
            int ejected = 0;
            bool present = false;
            foreach (int index in snapshot.Pickable)
            {
                EndpointState candidate = snapshot.States[index];
                present |= ReferenceEquals(candidate, state);
                ejected += IsEjected(candidate, now) ? 1 : 0;
            }

            if (!present || ejected + 1 > MaxEjected(snapshot.Pickable.Length))
            {
                // Declined (share cap, draining): the run starts over, so that each later failure
                // does not take this lock and scan the set again.
                Volatile.Write(ref state.ConsecutiveFailures, 0);
                return null;
            }

            // Step 2 – the duration doubles with each ejection, and the count starts over once the endpoint
            // has served without ejection for the maximum time.
            if (state.Ejections > 0 && now - state.LastEjectionEnd > _maxTicks)
            {
                state.Ejections = 0;
            }

            int shift = Math.Min(state.Ejections, 30);
            state.Ejections++;
            long duration = _baseTicks > (_maxTicks >> shift) ? _maxTicks : Math.Min(_baseTicks << shift, _maxTicks);
            long until = now + duration;
            state.LastEjectionEnd = until;
            Volatile.Write(ref state.ConsecutiveFailures, 0);

            // Step 3 – publish: the end time first, then the counter, so a pick that sees AnyEjected also sees
            // the end time it must compare with.
            Volatile.Write(ref state.EjectedUntil, until);
            if (!_ejected.Contains(state))
            {
                _ejected.Add(state);
            }

            Volatile.Write(ref _latestEnd, Math.Max(until, Volatile.Read(ref _latestEnd)));
            Volatile.Write(ref _active.Value, _ejected.Count);
            Volatile.Write(ref _epoch, _epoch + 1);
            return new EndpointEjection(state.Endpoint, _time.GetElapsedTime(now, until), state.Ejections);
        }
    }

    /// <summary>The endpoint left the set: its ejection, if any, ends now and no longer counts.</summary>
    public void Forget(EndpointState state)
    {
        lock (_gate)
        {
            if (_ejected.Remove(state))
            {
                Volatile.Write(ref state.EjectedUntil, 0);

                // The latest end must be recomputed: left at the removed endpoint's end, picks would keep reading
                // the clock until then though every remaining ejection had ended.
                long latest = 0;
                foreach (EndpointState remaining in _ejected)
                {
                    latest = Math.Max(latest, Volatile.Read(ref remaining.EjectedUntil));
                }

                Volatile.Write(ref _latestEnd, latest);
                Volatile.Write(ref _active.Value, _ejected.Count);
                Volatile.Write(ref _epoch, _epoch + 1);
            }
        }
    }

    /// <summary>
    /// How many of <paramref name="pickable"/> endpoints may be ejected at once: ⌊share · n⌋ in integer arithmetic,
    /// and at least one, as Envoy does with <c>max_ejection_percent</c> (a share below one endpoint would otherwise
    /// eject nothing, silently, in a small set).
    /// </summary>
    internal int MaxEjected(int pickable) => (int)Math.Max(1, pickable * _maxShareMillionths / 1_000_000);

    private void Prune(long now)
    {
        int before = _ejected.Count;
        for (int i = _ejected.Count - 1; i >= 0; i--)
        {
            if (!IsEjected(_ejected[i], now))
            {
                _ejected.RemoveAt(i);
            }
        }

        Volatile.Write(ref _active.Value, _ejected.Count);
        if (_ejected.Count != before)
        {
            Volatile.Write(ref _epoch, _epoch + 1);
        }
    }

    private static long ToTicks(TimeSpan duration, TimeProvider time)
        => (long)(duration.TotalSeconds * time.TimestampFrequency);
}
