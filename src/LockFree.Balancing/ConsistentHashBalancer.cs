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

    /// <summary>The ring of the current snapshot, for tests and diagnostics.</summary>
    internal HashRing CurrentRing => Unsafe.As<RingSnapshot>(CurrentSnapshot).Ring;

    private protected override BalancerSnapshot CreateSnapshot(
        long version,
        Endpoint[] endpoints,
        EndpointState[] states,
        BalancerSnapshot? previous,
        ReadOnlySpan<int> previousToNext,
        ReadOnlySpan<(int Owner, Endpoint Endpoint)> added)
    {
        HashRing previousRing = previous is RingSnapshot ring ? ring.Ring : HashRing.Empty;
        return new RingSnapshot(version, endpoints, states, HashRing.Build(previousRing, previousToNext, added, VirtualNodesPerEndpoint));
    }

    private protected override int PickIndex(BalancerSnapshot snapshot, ulong keyHash)
    {
        // PERF: only this class creates the snapshots it reads, so the cast cannot fail.
        HashRing ring = Unsafe.As<RingSnapshot>(snapshot).Ring;
        return ring.Count == 0 ? -1 : PlaceByKey(snapshot, new RingLocator(ring), keyHash);
    }

    private protected override bool TryAcquireByHash(BalancerSnapshot snapshot, ulong keyHash, out EndpointLease lease)
        => _boundedLoads is null
            ? base.TryAcquireByHash(snapshot, keyHash, out lease)
            : _boundedLoads.TryPlace(snapshot, new RingLocator(Unsafe.As<RingSnapshot>(snapshot).Ring), keyHash, out lease);

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

    private sealed class RingSnapshot(long version, Endpoint[] endpoints, EndpointState[] states, HashRing ring)
        : BalancerSnapshot(version, endpoints, states)
    {
        public HashRing Ring { get; } = ring;
    }
}
