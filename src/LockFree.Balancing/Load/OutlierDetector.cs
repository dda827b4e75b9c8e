using System.Runtime.CompilerServices;

namespace LockFree.Balancing.Load;

/// <summary>
/// Passive outlier ejection for one balancer: counts consecutive failures per endpoint, ejects an endpoint
/// for a time that doubles with repeated ejections, caps the share ejected at once, and lets ejections
/// expire by themselves.
/// </summary>
/// <remarks>
/// <para>
/// Hot path: a pick reads <see cref="AnyEjected"/> (one shared counter, written only when an ejection
/// starts or ends) and nothing else while no endpoint is ejected. Only then does it read the clock and
/// check its candidates.
/// </para>
/// <para>
/// Ejection decisions are rare and serialized by a lock that picks never take, which keeps the share cap
/// exact. Expiry is lazy: whoever first sees an ejection past its end clears it with a compare-and-swap;
/// once the latest ejection has ended, the next pick sweeps the whole snapshot so none stays counted.
/// </para>
/// </remarks>
internal sealed class OutlierDetector
{
    private readonly Lock _ejectionGate = new();
    private readonly int _threshold;
    private readonly long _baseTicks;
    private readonly long _maxTicks;
    private readonly double _maxShare;
    private readonly TimeProvider _time;
    private readonly Func<BalancerSnapshot> _currentSnapshot;
    private PaddedCounter _active;
    private long _latestEnd;

    public OutlierDetector(OutlierEjectionOptions options, TimeProvider time, Func<BalancerSnapshot> currentSnapshot)
    {
        _threshold = options.ConsecutiveFailures;
        _baseTicks = ToTicks(options.BaseEjectionTime, time);
        _maxTicks = ToTicks(options.MaxEjectionTime, time);
        _maxShare = options.MaxEjectedShare;
        _time = time;
        _currentSnapshot = currentSnapshot;
    }

    /// <summary>True while at least one ejection has not been seen to end.</summary>
    public bool AnyEjected
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _active.Value) != 0;
    }

    /// <summary>Reads the clock for a pick and, when every ejection has ended, clears them all in <paramref name="snapshot"/>.</summary>
    public long Refresh(BalancerSnapshot snapshot)
    {
        long now = _time.GetTimestamp();
        if (now >= Volatile.Read(ref _latestEnd))
        {
            foreach (EndpointState state in snapshot.States)
            {
                IsEjected(state, now);
            }
        }

        return now;
    }

    /// <summary>True when <paramref name="state"/> is ejected at <paramref name="now"/>; an ejection found over is cleared.</summary>
    public bool IsEjected(EndpointState state, long now)
    {
        long until = Volatile.Read(ref state.EjectedUntil);
        if (until == 0)
        {
            return false;
        }

        if (now < until)
        {
            return true;
        }

        // Over: exactly one observer wins the clear and uncounts it.
        if (Interlocked.CompareExchange(ref state.EjectedUntil, 0, until) == until)
        {
            Interlocked.Decrement(ref _active.Value);
        }

        return false;
    }

    /// <summary>The ejection's remaining time at <paramref name="now"/>, or <see langword="null"/>.</summary>
    public TimeSpan? Remaining(EndpointState state, long now)
        => IsEjected(state, now) ? _time.GetElapsedTime(now, Volatile.Read(ref state.EjectedUntil)) : null;

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
        if (Interlocked.Increment(ref state.ConsecutiveFailures) < _threshold)
        {
            return;
        }

        lock (_ejectionGate)
        {
            long now = _time.GetTimestamp();
            if (Volatile.Read(ref state.ConsecutiveFailures) < _threshold || IsEjected(state, now))
            {
                return; // a success reset the run meanwhile, or another failure already ejected it
            }

            // Step 1 – the share cap, counted over the endpoints that can receive requests now. A removed
            // (draining) endpoint gets no new requests anyway and is not ejected.
            BalancerSnapshot snapshot = _currentSnapshot();
            int ejected = 0;
            bool present = false;
            foreach (int index in snapshot.Pickable)
            {
                EndpointState candidate = snapshot.States[index];
                present |= ReferenceEquals(candidate, state);
                ejected += IsEjected(candidate, now) ? 1 : 0;
            }

            if (!present || ejected + 1 > (int)Math.Floor(_maxShare * snapshot.Pickable.Length))
            {
                return;
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

            // Step 3 – publish: count first, so no pick can see the ejection while AnyEjected is false.
            Interlocked.Increment(ref _active.Value);
            if (until > Volatile.Read(ref _latestEnd))
            {
                Volatile.Write(ref _latestEnd, until);
            }

            Volatile.Write(ref state.EjectedUntil, until);
            Volatile.Write(ref state.ConsecutiveFailures, 0);
        }
    }

    /// <summary>The endpoint left the set: its ejection, if any, no longer counts toward the cap or <see cref="AnyEjected"/>.</summary>
    public void Forget(EndpointState state)
    {
        long until = Volatile.Read(ref state.EjectedUntil);
        if (until != 0 && Interlocked.CompareExchange(ref state.EjectedUntil, 0, until) == until)
        {
            Interlocked.Decrement(ref _active.Value);
        }
    }

    private static long ToTicks(TimeSpan duration, TimeProvider time)
        => (long)(duration.TotalSeconds * time.TimestampFrequency);
}
