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

    /// <summary>Creates a random balancer.</summary>
    /// <param name="seed">A seed for reproducible runs (tests, simulations), or <see langword="null"/> for per-thread randomness.</param>
    public RandomBalancer(int? seed = null)
        : base(placesByKey: false, keepsInFlightTotal: false)
        => _random = new PickRandom(seed);

    private protected override BalancerSnapshot CreateSnapshot(
        long version,
        Endpoint[] endpoints,
        EndpointState[] states,
        BalancerSnapshot? previous,
        ReadOnlySpan<int> previousToNext,
        ReadOnlySpan<(int Owner, Endpoint Endpoint)> added)
        => new WeightedDrawSnapshot(version, endpoints, states);

    private protected override int PickIndex(BalancerSnapshot snapshot, ulong keyHash)
    {
        // PERF: only this class creates the snapshots it reads, so the cast cannot fail.
        AliasTable draws = Unsafe.As<WeightedDrawSnapshot>(snapshot).Draws;
        return draws.Count == 0 ? -1 : draws.Draw(_random.Next());
    }
}
