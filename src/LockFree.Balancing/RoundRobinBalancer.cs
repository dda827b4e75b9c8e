using System.Runtime.CompilerServices;
using LockFree.Balancing.Hashing;
using LockFree.Balancing.Load;
using LockFree.Balancing.Scheduling;

namespace LockFree.Balancing;

/// <summary>
/// Hands endpoints out in turn, in proportion to their weights: the seed endpoints library's
/// <c>Next()</c> without its mutex, and weighted round robin when weights differ. Keys are ignored;
/// endpoints with weight 0 are skipped.
/// </summary>
/// <remarks>
/// Each snapshot precomputes an interleaved cycle in which an endpoint of weight w appears w/g times
/// (g = gcd of the weights), its turns spread evenly; with equal weights the cycle is the endpoints in
/// key order. A pick is one <see cref="Interlocked.Increment(ref int)"/> on a shared cursor and one
/// lookup, so the rotation is exact across threads: over any whole number of cycles on one set, every
/// endpoint gets exactly its share, and over any run it is at most one turn per endpoint off. The
/// cursor survives updates; a new set continues the rotation from the cursor's position. Thread-safe;
/// picks take no lock and allocate nothing.
/// </remarks>
public sealed class RoundRobinBalancer : LoadBalancer
{
    private PaddedCounter _cursor;

    /// <summary>Creates a round-robin balancer with an empty endpoint set.</summary>
    public RoundRobinBalancer()
        : this(new LoadBalancerOptions())
    {
    }

    /// <summary>Creates a round-robin balancer with fallback or outlier-ejection policies.</summary>
    /// <param name="options">The shared policies.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public RoundRobinBalancer(LoadBalancerOptions options)
        : base(options, placesByKey: false, keepsInFlightTotal: false)
    {
    }

    private protected override BalancerSnapshot CreateSnapshot(
        long version,
        Endpoint[] endpoints,
        EndpointState[] states,
        BalancerSnapshot? previous,
        ReadOnlySpan<int> previousToNext,
        ReadOnlySpan<(int Owner, Endpoint Endpoint)> added)
        => new CycleSnapshot(version, endpoints, states);

    private protected override int PickIndex(BalancerSnapshot snapshot, ulong keyHash)
    {
        // PERF: only this class creates the snapshots it reads, so the cast cannot fail.
        CycleSnapshot cycleSnapshot = Unsafe.As<CycleSnapshot>(snapshot);
        int[] cycle = cycleSnapshot.Cycle;
        if (cycle.Length == 0)
        {
            return -1;
        }

        // The increment comes first so each caller owns a distinct cursor value; the index then
        // depends only on that value and the snapshot the caller already holds.
        uint turn = (uint)Interlocked.Increment(ref _cursor.Value) - 1;
        int position = FastModulo.Reduce(turn, cycle.Length, cycleSnapshot.CycleFastModMultiplier);
        int index = cycle[position];
        // An ejected endpoint's turns go to the next available endpoint from a start mixed from the turn, so
        // they spread over the cycle instead of doubling the load of its neighbour.
        return ChecksEjections(out long now) && IsEjected(snapshot, index, now)
            ? FirstAvailable(snapshot, cycle, FastModulo.Reduce((uint)KeyHasher.Mix(turn), cycle.Length, cycleSnapshot.CycleFastModMultiplier), now)
            : index;
    }

    private sealed class CycleSnapshot : BalancerSnapshot
    {
        public CycleSnapshot(long version, Endpoint[] endpoints, EndpointState[] states)
            : base(version, endpoints, states)
        {
            Cycle = WeightedSchedule.Build(Pickable, PickableWeights());
            CycleFastModMultiplier = FastModulo.Multiplier(Cycle.Length);
        }

        public int[] Cycle { get; }

        public ulong CycleFastModMultiplier { get; }
    }
}
