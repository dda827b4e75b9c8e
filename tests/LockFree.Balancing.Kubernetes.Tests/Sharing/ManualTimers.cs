namespace LockFree.Balancing.Kubernetes.Tests.Sharing;

/// <summary>A clock whose timers fire only when the test says so; only timers are faked.</summary>
/// <remarks>
/// Kept beside <c>FakeTimeProvider</c> on purpose: the registry's linger tests read each live timer's due time
/// (<see cref="Live"/>) and fire timers at a moment of their choosing, late (after the registry has moved on) and
/// from several threads at once, whatever their due time. <c>FakeTimeProvider</c> neither shows the timers it holds
/// nor fires one except by advancing the clock past its due time on the advancing thread.
/// </remarks>
internal sealed class ManualTimers : TimeProvider
{
    private readonly List<ManualTimer> _timers = [];

    public int ActiveCount
    {
        get
        {
            lock (_timers)
            {
                return _timers.Count(t => !t.Disposed);
            }
        }
    }

    public ManualTimer[] Live
    {
        get
        {
            lock (_timers)
            {
                return [.. _timers.Where(t => !t.Disposed)];
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(callback, state, dueTime);
        lock (_timers)
        {
            _timers.Add(timer);
        }

        return timer;
    }

    /// <summary>Fires every live timer once, as if its due time had passed.</summary>
    public int FireAll()
    {
        ManualTimer[] live;
        lock (_timers)
        {
            live = [.. _timers.Where(t => !t.Disposed)];
        }

        foreach (ManualTimer timer in live)
        {
            timer.Fire();
        }

        return live.Length;
    }

    public sealed class ManualTimer(TimerCallback callback, object? state, TimeSpan dueTime) : ITimer
    {
        public TimeSpan DueTime { get; } = dueTime;

        public bool Disposed { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period) => !Disposed;

        public void Dispose() => Disposed = true;

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
