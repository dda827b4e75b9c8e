namespace LockFree.Balancing.Benchmarks;

/// <summary>A clock that never moves: an ejection made in a benchmark's setup stays in force for the whole run.</summary>
internal sealed class FrozenTimeProvider : TimeProvider
{
    private readonly long _timestamp = TimeProvider.System.GetTimestamp();
    private readonly DateTimeOffset _now = TimeProvider.System.GetUtcNow();

    public override long GetTimestamp() => _timestamp;

    public override DateTimeOffset GetUtcNow() => _now;
}
