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
/// key order. A pick is one compare-and-swap on a shared cursor and one lookup, so while threads take turns one at a
/// time the rotation is exact across them: over any whole number of cycles on one set, every endpoint gets exactly
/// its share, and over any run it is at most one turn per endpoint off. From the first time two threads collide on
/// the cursor, it spreads over one cursor per processor (two cores fighting over one line made a pick 6–7× dearer and
/// two threads slower than one): each processor's rotation is exact, so an endpoint is at most one turn per
/// processor off its share. The cursor survives updates; a new set continues the rotation from the cursor's position.
/// Thread-safe; picks take no lock and allocate nothing.
/// </remarks>
public sealed class RoundRobinBalancer : LoadBalancer
{
    private TurnCursor _cursor;

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

    /// <summary>True once the cursor has spread over per-processor cells (two threads collided on it).</summary>
    internal bool CursorIsSpread => _cursor.IsSpread;

    /// <inheritdoc/>
    internal override void SpreadCounters()
    {
        base.SpreadCounters();
        _cursor.Spread();
    }

    private protected override PickScope CreateScope(
        Endpoint[] endpoints,
        int[] pickable,
        PickScope? previous,
        ReadOnlySpan<int> previousToNext,
        ReadOnlySpan<(int Owner, Endpoint Endpoint)> added)
        => new CycleScope(endpoints, pickable);

    private protected override int PickIn(BalancerSnapshot snapshot, PickScope scope, ulong keyHash, out PickOutcome outcome)
    {
        // PERF: only this class creates the scopes it reads, so the cast cannot fail.
        CycleScope cycleScope = Unsafe.As<CycleScope>(scope);
        int[] cycle = cycleScope.Cycle;
        if (cycle.Length == 0)
        {
            outcome = PickOutcome.Home;
            return -1;
        }

        // The increment comes first so each caller owns a distinct cursor value; the index then
        // depends only on that value and the scope the caller already holds. The local and the
        // all-endpoints cycles share the cursor: each is a weighted rotation of its own endpoints.
        uint turn = _cursor.Next();
        int position = FastModulo.Reduce(turn, cycle.Length, cycleScope.CycleFastModMultiplier);
        int index = cycle[position];

        // An ejected endpoint's turns are redrawn by weight among the available endpoints (randomness mixed from the
        // turn), so they spread over all of them instead of doubling the load of its neighbour in the cycle.
        if (ChecksEjections(out long now) && IsEjected(snapshot, index, now))
        {
            outcome = PickOutcome.Overflow;
            return RedrawAvailable(snapshot, scope, KeyHasher.Mix(turn), now);
        }

        outcome = PickOutcome.Home;
        return index;
    }

    private sealed class CycleScope : PickScope
    {
        public CycleScope(Endpoint[] endpoints, int[] pickable)
            : base(endpoints, pickable)
        {
            Cycle = WeightedSchedule.Build(pickable, Weights(endpoints));
            CycleFastModMultiplier = FastModulo.Multiplier(Cycle.Length);
        }

        /// <summary>The weighted, interleaved order of turns: each endpoint appears weight times per cycle.</summary>
        public int[] Cycle { get; }

        public ulong CycleFastModMultiplier { get; }

        /// <inheritdoc/>
        /// <remarks>A uniform position in the cycle, which lists each endpoint in proportion to its weight.</remarks>
        public override int DrawByWeight(ulong random) => Cycle[FastModulo.Reduce((uint)(random >> 32), Cycle.Length, CycleFastModMultiplier)];
    }
}
