namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>The system clock plus an offset the test moves forward; timers stay real (the base implementation).</summary>
public sealed class ShiftableTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public override long GetTimestamp()
        => base.GetTimestamp() + (long)(Interlocked.Read(ref _offsetTicks) * (TimestampFrequency / (double)TimeSpan.TicksPerSecond));
}
