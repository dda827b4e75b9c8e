using LockFree.Balancing.Load;

namespace LockFree.Balancing;

/// <summary>
/// Hands endpoints out in turn: the seed endpoints library's <c>Next()</c>, without its mutex.
/// Keys are ignored. Endpoints with weight 0 are skipped.
/// </summary>
/// <remarks>
/// One <see cref="Interlocked.Increment(ref int)"/> on a shared cursor per pick, so the rotation is
/// exact across threads: over any run of picks on one set, every endpoint is picked
/// ⌊picks / n⌋ or ⌈picks / n⌉ times. The cursor survives updates; a new set continues the rotation
/// from the cursor's position. Thread-safe; picks take no lock and allocate nothing.
/// </remarks>
public sealed class RoundRobinBalancer : LoadBalancer
{
    private PaddedCounter _cursor;

    /// <summary>Creates a round-robin balancer with an empty endpoint set.</summary>
    public RoundRobinBalancer()
        : base(placesByKey: false, keepsInFlightTotal: false)
    {
    }

    private protected override BalancerSnapshot CreateSnapshot(
        long version,
        Endpoint[] endpoints,
        EndpointState[] states,
        BalancerSnapshot? previous,
        ReadOnlySpan<int> previousToNext,
        ReadOnlySpan<(int Owner, Endpoint Endpoint)> added)
        => new(version, endpoints, states);

    private protected override int PickIndex(BalancerSnapshot snapshot, ulong keyHash)
    {
        int[] pickable = snapshot.Pickable;
        if (pickable.Length == 0)
        {
            return -1;
        }

        // The increment comes first so each caller owns a distinct cursor value; the index then
        // depends only on that value and the snapshot the caller already holds.
        uint turn = (uint)Interlocked.Increment(ref _cursor.Value) - 1;
        return pickable[snapshot.PickableModulo(turn)];
    }
}
