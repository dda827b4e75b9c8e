using System.Runtime.CompilerServices;
using LockFree.Balancing.Hashing;
using LockFree.Balancing.Load;

namespace LockFree.Balancing.Randomness;

/// <summary>
/// Random 64-bit values for picks, thread-safe without a shared lock.
/// </summary>
/// <remarks>
/// Unseeded: each thread steps its own SplitMix64 state (a thread-static field, seeded once per thread
/// from <see cref="Random.Shared"/>), so threads never contend. Seeded: one shared counter advanced with
/// <see cref="Interlocked.Increment(ref int)"/> and mixed with the seed, so a single-threaded run
/// replays exactly and concurrent callers still get distinct values; tests and simulations use this.
/// </remarks>
internal sealed class PickRandom
{
    [ThreadStatic]
    private static ulong t_state;

    private readonly bool _seeded;
    private readonly ulong _seed;
    private PaddedCounter _counter;

    public PickRandom(int? seed)
    {
        _seeded = seed is not null;
        _seed = KeyHasher.Mix((ulong)(seed ?? 0));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Next()
    {
        if (_seeded)
        {
            return KeyHasher.Mix(_seed + ((ulong)(uint)Interlocked.Increment(ref _counter.Value) * ProbeSequence.GoldenGamma));
        }

        ulong state = t_state;
        if (state == 0)
        {
            state = SeedThread();
        }

        state += ProbeSequence.GoldenGamma;
        t_state = state;
        return KeyHasher.Mix(state);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong SeedThread() => (ulong)Random.Shared.NextInt64() | 1;
}
