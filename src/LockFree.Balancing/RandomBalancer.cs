using System.Runtime.CompilerServices;
using LockFree.Balancing.Load;
using LockFree.Balancing.Randomness;

namespace LockFree.Balancing;

/// <summary>
/// Picks an endpoint at random with probability proportional to its weight (Vose's alias method: one
/// random value and two loads per pick). Keys are ignored; endpoints with weight 0 are never picked.
/// </summary>
/// <remarks>
/// Thread-safe without a shared lock: unseeded, every thread draws from its own generator; seeded, the
/// sequence replays exactly in a single-threaded run. Picks allocate nothing.
/// </remarks>
public sealed class RandomBalancer : LoadBalancer
{
    private readonly PickRandom _random;

    /// <summary>Creates a random balancer with per-thread randomness.</summary>
    public RandomBalancer()
        : this(new RandomOptions())
    {
    }

    /// <summary>Creates a random balancer.</summary>
    /// <param name="options">An optional seed and the shared policies.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public RandomBalancer(RandomOptions options)
        : base(options, placesByKey: false, keepsInFlightTotal: false)
        => _random = new PickRandom(options.Seed);

    private protected override PickScope CreateScope(
        Endpoint[] endpoints,
        int[] pickable,
        PickScope? previous,
        ReadOnlySpan<int> previousToNext,
        ReadOnlySpan<(int Owner, Endpoint Endpoint)> added)
        => new DrawScope(endpoints, pickable);

    private protected override int PickIn(BalancerSnapshot snapshot, PickScope scope, ulong keyHash, out PickOutcome outcome)
    {
        // PERF: only this class creates the scopes it reads, so the cast cannot fail.
        AliasTable draws = Unsafe.As<DrawScope>(scope).Draws;
        if (draws.Count == 0)
        {
            outcome = PickOutcome.Home;
            return -1;
        }

        ulong random = _random.Next();
        int index = draws.Draw(random);
        if (ChecksEjections(out long now) && IsEjected(snapshot, index, now))
        {
            outcome = PickOutcome.Overflow;
            return RedrawAvailable(snapshot, scope, random, now);
        }

        outcome = PickOutcome.Home;
        return index;
    }
}
