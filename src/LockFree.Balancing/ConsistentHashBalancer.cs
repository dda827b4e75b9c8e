using System.Buffers;
using System.Runtime.CompilerServices;
using LockFree.Balancing.Hashing;
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
    // After this many random ring probes the overflow path sweeps the endpoint list, which finds room
    // in O(n) when random probing keeps landing on full endpoints (almost all of them full).
    private const int MaxRingProbes = 16;

    // PERF: the rejected-endpoint bitmap lives on the stack up to 64 × 64 = 4096 endpoints.
    private const int StackallocBitmapWords = 64;

    private const ulong GoldenGamma = 0x9E3779B97F4A7C15UL;

    private readonly int _virtualNodes;
    private readonly long _loadFactorThousandths;

    /// <summary>Creates a plain consistent-hash balancer with the default options.</summary>
    public ConsistentHashBalancer()
        : this(new ConsistentHashOptions())
    {
    }

    /// <summary>Creates a consistent-hash balancer.</summary>
    /// <param name="options">Virtual nodes per endpoint and the optional bounded-load factor.</param>
    /// <exception cref="ArgumentException">The virtual nodes are outside 1–10,000, or the load factor is set and not above 1 and at most 100.</exception>
    public ConsistentHashBalancer(ConsistentHashOptions options)
        : base(placesByKey: true, keepsInFlightTotal: Validate(options))
    {
        _virtualNodes = options.VirtualNodesPerEndpoint;
        _loadFactorThousandths = options.LoadFactor is double c ? (long)Math.Round(c * 1000) : 0;
        LoadFactor = options.LoadFactor is null ? null : _loadFactorThousandths / 1000.0;
        VirtualNodesPerEndpoint = _virtualNodes;
    }

    /// <summary>Ring points per unit of weight.</summary>
    public int VirtualNodesPerEndpoint { get; }

    /// <summary>The bounded-load factor as applied (rounded to 0.001), or <see langword="null"/> in plain mode.</summary>
    public double? LoadFactor { get; }

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
        return new RingSnapshot(version, endpoints, states, HashRing.Build(previousRing, previousToNext, added, _virtualNodes));
    }

    private protected override int PickIndex(BalancerSnapshot snapshot, ulong keyHash)
    {
        // PERF: only this class creates the snapshots it reads, so the cast cannot fail.
        HashRing ring = Unsafe.As<RingSnapshot>(snapshot).Ring;
        return ring.Count == 0 ? -1 : ring.OwnerOf(HashRing.PointOf(keyHash));
    }

    private protected override bool TryAcquireByHash(BalancerSnapshot snapshot, ulong keyHash, out EndpointLease lease)
    {
        if (InFlightTotal is not InFlightTotal total)
        {
            return base.TryAcquireByHash(snapshot, keyHash, out lease);
        }

        HashRing ring = Unsafe.As<RingSnapshot>(snapshot).Ring;
        if (ring.Count == 0)
        {
            lease = default;
            return false;
        }

        // Step 1 – reserve a slot in the total first, so the total read for the capacity includes this
        // request (HAProxy's "served + 1") and never undercounts requests already placed.
        int reservedTotal = total.Reserve();

        // Step 2 – the home endpoint, which takes almost every request when loads are balanced.
        int home = ring.OwnerOf(HashRing.PointOf(keyHash));
        EndpointState homeState = snapshot.States[home];
        if (homeState.TryAddWithin(Capacity(snapshot.Endpoints[home].Weight, reservedTotal, snapshot.TotalWeight)))
        {
            lease = new EndpointLease(snapshot.Endpoints[home], homeState);
            return true;
        }

        // Step 3 – overflow, out of line so the common path stays small.
        int index = PlaceOverflow(snapshot, ring, keyHash, home, reservedTotal, total);
        lease = new EndpointLease(snapshot.Endpoints[index], snapshot.States[index]);
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int PlaceOverflow(BalancerSnapshot snapshot, HashRing ring, ulong keyHash, int home, int reservedTotal, InFlightTotal total)
    {
        int words = (snapshot.Endpoints.Length + 63) / 64;
        ulong[]? rented = null;
        Span<ulong> rejected = words <= StackallocBitmapWords
            ? stackalloc ulong[StackallocBitmapWords]
            : (rented = ArrayPool<ulong>.Shared.Rent(words));
        rejected = rejected[..words];
        try
        {
            int totalRead = reservedTotal;
            while (true)
            {
                rejected.Clear();
                Reject(rejected, home);
                int index = ProbeForRoom(snapshot, ring, keyHash, totalRead, rejected);
                if (index >= 0)
                {
                    return index;
                }

                // Every endpoint was full against capacities computed from a total that other threads
                // have since grown (they placed requests reserved after our read). Re-read and retry:
                // each failed round means other requests were placed, so the system makes progress.
                totalRead = Math.Max(totalRead, total.Current);
                if (TryTake(snapshot, home, totalRead))
                {
                    return home;
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<ulong>.Shared.Return(rented);
            }
        }
    }

    private int ProbeForRoom(BalancerSnapshot snapshot, HashRing ring, ulong keyHash, int totalRead, Span<ulong> rejected)
    {
        // Pseudo-random ring positions seeded by the key: the same key tries the same endpoints in the
        // same order (so overflowing keys still cluster per key), different keys spill to different places.
        ulong probe = keyHash;
        for (int attempt = 0; attempt < MaxRingProbes; attempt++)
        {
            probe += GoldenGamma;
            int candidate = ring.OwnerOf(HashRing.PointOf(KeyHasher.Mix(probe)));
            if (IsRejected(rejected, candidate))
            {
                continue;
            }

            if (TryTake(snapshot, candidate, totalRead))
            {
                return candidate;
            }

            Reject(rejected, candidate);
        }

        // A sweep over every pickable endpoint from a key-derived start finds room whenever any
        // endpoint has it; the start differs per key, so this too spreads instead of cascading.
        int[] pickable = snapshot.Pickable;
        int start = snapshot.PickableModulo((uint)keyHash);
        for (int step = 0; step < pickable.Length; step++)
        {
            int position = start + step;
            int candidate = pickable[position >= pickable.Length ? position - pickable.Length : position];
            if (!IsRejected(rejected, candidate) && TryTake(snapshot, candidate, totalRead))
            {
                return candidate;
            }

            Reject(rejected, candidate);
        }

        return -1;
    }

    private bool TryTake(BalancerSnapshot snapshot, int index, int totalRead)
        => snapshot.States[index].TryAddWithin(Capacity(snapshot.Endpoints[index].Weight, totalRead, snapshot.TotalWeight));

    /// <summary>⌈c · total · w / W⌉, at least 1, in exact integer arithmetic (c in thousandths).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private LoadCapacity Capacity(int weight, int totalIncludingThis, long totalWeight)
        // No overflow: c ≤ 100,000 thousandths, total < 2^31, weight ≤ 1000, so the product stays below 2^58.
        => new(_loadFactorThousandths * totalIncludingThis * weight, 1000 * totalWeight);

    private static bool IsRejected(Span<ulong> rejected, int index) => (rejected[index >> 6] & (1UL << index)) != 0;

    private static void Reject(Span<ulong> rejected, int index) => rejected[index >> 6] |= 1UL << index;

    private static bool Validate(ConsistentHashOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.VirtualNodesPerEndpoint is < 1 or > ConsistentHashOptions.MaxVirtualNodesPerEndpoint)
        {
            throw new ArgumentException(
                $"VirtualNodesPerEndpoint {options.VirtualNodesPerEndpoint} is not accepted: it must be between 1 and {ConsistentHashOptions.MaxVirtualNodesPerEndpoint} (default {ConsistentHashOptions.DefaultVirtualNodesPerEndpoint}).",
                nameof(options));
        }

        if (options.LoadFactor is double c && !(c > 1 && c <= ConsistentHashOptions.MaxLoadFactor && Math.Round(c * 1000) > 1000))
        {
            throw new ArgumentException(
                $"LoadFactor {c} is not accepted: a bounded-load factor must be above 1 (at least 1.001) and at most {ConsistentHashOptions.MaxLoadFactor}, for example 1.25; leave it null for plain consistent hashing.",
                nameof(options));
        }

        return options.LoadFactor is not null;
    }

    private sealed class RingSnapshot(long version, Endpoint[] endpoints, EndpointState[] states, HashRing ring)
        : BalancerSnapshot(version, endpoints, states)
    {
        public HashRing Ring { get; } = ring;
    }
}
