using System.Runtime.CompilerServices;
using LockFree.Balancing.Load;
using LockFree.Balancing.Ring;

namespace LockFree.Balancing;

/// <summary>
/// Places each key on a consistent-hash ring, optionally with bounded loads: equal keys go to the
/// same endpoint, and a change of the set moves only the keys of the endpoints that changed.
/// </summary>
/// <remarks>
/// <para>
/// Plain mode (<see cref="ConsistentHashOptions.LoadFactor"/> unset): a key goes to the owner of the
/// first ring point at or after the key's point. Removing an endpoint moves only its own keys; adding
/// one moves keys only onto it.
/// </para>
/// <para>
/// Bounded mode (c set): <c>Acquire</c> places a request on the key's home endpoint while that
/// endpoint's in-flight count is below its capacity ⌈c · (total + 1) · w / W⌉, never 0; otherwise it
/// probes pseudo-random ring positions seeded by the key (Chen, Coleman, Shrivastava,
/// arXiv 1908.08762), skipping endpoints already rejected for this request, so one hot endpoint's
/// spill spreads over the ring instead of cascading onto its neighbour. The capacity check is a
/// compare-and-swap on the endpoint's counter, so no request is placed on an endpoint at or above
/// the capacity it read. <c>Pick</c> returns the home endpoint without counting anything.
/// </para>
/// <para>Thread-safe; picks and acquires take no lock and allocate nothing, the overflow path included.</para>
/// </remarks>
public sealed class ConsistentHashBalancer : LoadBalancer
{
    private readonly BoundedLoadPlacer? _boundedLoads;

    /// <summary>Creates a plain consistent-hash balancer with the default options.</summary>
    public ConsistentHashBalancer()
        : this(new ConsistentHashOptions())
    {
    }

    /// <summary>Creates a consistent-hash balancer.</summary>
    /// <param name="options">Virtual nodes per endpoint and the optional bounded-load factor.</param>
    /// <exception cref="ArgumentException">The virtual nodes are outside 1–10,000, or the load factor is set and not above 1 and at most 100.</exception>
    public ConsistentHashBalancer(ConsistentHashOptions options)
        : base(options, placesByKey: true, keepsInFlightTotal: Validate(options))
    {
        VirtualNodesPerEndpoint = options.VirtualNodesPerEndpoint;
        _boundedLoads = BoundedLoadPlacer.Create(options.LoadFactor, InFlightTotal, Ejection);
    }

    /// <summary>Ring points per unit of weight.</summary>
    public int VirtualNodesPerEndpoint { get; }

    /// <summary>The bounded-load factor as applied (rounded to 0.001), or <see langword="null"/> in plain mode.</summary>
    public double? LoadFactor => _boundedLoads?.LoadFactor;

    /// <summary>The ring over every endpoint of the current snapshot, for tests and diagnostics.</summary>
    internal HashRing CurrentRing => Unsafe.As<RingScope>(CurrentSnapshot.All).Ring;

    private protected override PickScope CreateScope(
        Endpoint[] endpoints,
        int[] pickable,
        PickScope? previous,
        ReadOnlySpan<int> previousToNext,
        ReadOnlySpan<(int Owner, Endpoint Endpoint)> added)
    {
        if (previous is RingScope patched)
        {
            // The whole set: merge the previous ring's kept points with the added endpoints' points, O(n).
            return new RingScope(endpoints, pickable, HashRing.Build(patched.Ring, previousToNext, added, VirtualNodesPerEndpoint));
        }

        (int Owner, Endpoint Endpoint)[] members = new (int, Endpoint)[pickable.Length];
        for (int i = 0; i < pickable.Length; i++)
        {
            members[i] = (pickable[i], endpoints[pickable[i]]);
        }

        return new RingScope(endpoints, pickable, pickable.Length == 0 ? HashRing.Empty : HashRing.Build(HashRing.Empty, [], members, VirtualNodesPerEndpoint));
    }

    private protected override int PickIn(BalancerSnapshot snapshot, PickScope scope, ulong keyHash, out PickOutcome outcome)
    {
        // PERF: only this class creates the scopes it reads, so the cast cannot fail.
        HashRing ring = Unsafe.As<RingScope>(scope).Ring;
        if (ring.Count == 0)
        {
            outcome = PickOutcome.Home;
            return -1;
        }

        return PlaceByKey(snapshot, scope, new RingLocator(ring), keyHash, out outcome);
    }

    private protected override PlacementResult TryAcquireIn(BalancerSnapshot snapshot, PickScope scope, ulong keyHash, bool lastResort, out EndpointLease lease)
        => _boundedLoads is null
            ? base.TryAcquireIn(snapshot, scope, keyHash, lastResort, out lease)
            : _boundedLoads.TryPlace(snapshot, scope, new RingLocator(Unsafe.As<RingScope>(scope).Ring), keyHash, lastResort, out lease);

    private static bool Validate(ConsistentHashOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.VirtualNodesPerEndpoint is < 1 or > ConsistentHashOptions.MaxVirtualNodesPerEndpoint)
        {
            throw new ArgumentException(
                $"VirtualNodesPerEndpoint {options.VirtualNodesPerEndpoint} is not accepted: it must be between 1 and {ConsistentHashOptions.MaxVirtualNodesPerEndpoint} (default {ConsistentHashOptions.DefaultVirtualNodesPerEndpoint}).",
                nameof(options));
        }

        // Validated here too, before the base constructor runs, so a bad factor allocates nothing.
        return BoundedLoadPlacer.ToThousandths(options.LoadFactor, nameof(options)) > 0;
    }

    private readonly struct RingLocator(HashRing ring) : IKeyLocator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Locate(ulong hash) => ring.OwnerOf(HashRing.PointOf(hash));
    }

    private sealed class RingScope(Endpoint[] endpoints, int[] pickable, HashRing ring) : PickScope(endpoints, pickable)
    {
        public HashRing Ring { get; } = ring;
    }
}
