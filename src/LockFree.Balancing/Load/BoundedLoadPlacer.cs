using System.Runtime.CompilerServices;
using LockFree.Balancing.Hashing;

namespace LockFree.Balancing.Load;

/// <summary>
/// Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, arXiv 1608.01350) over any
/// key placement: a request goes to the key's home endpoint while that endpoint holds fewer than
/// ⌈c · (total + 1) · w / W⌉ requests (never 0, as HAProxy computes it), else to another endpoint with
/// room, found by key-seeded probes that skip endpoints already rejected.
/// </summary>
/// <remarks>
/// One instance per balancer: it owns the balancer-wide <see cref="InFlightTotal"/>, which every
/// <see cref="EndpointState"/> of that balancer releases into. Thread-safe, lock-free, allocation-free.
/// </remarks>
internal sealed class BoundedLoadPlacer
{
    // After this many random probes the overflow path sweeps the endpoint list, which finds room in O(n)
    // when random probing keeps landing on full endpoints (almost all of them full).
    private const int MaxRandomProbes = 16;

    // PERF: the rejected-endpoint bitmap lives on the stack up to 64 × 64 = 4096 endpoints; above that
    // each thread keeps one array it grows as needed. ArrayPool.Shared would do too, but it trims its
    // buckets on a gen-2 collection, and a trimmed pool allocates again on the hot path.
    private const int StackallocBitmapWords = 64;

    [ThreadStatic]
    private static ulong[]? t_largeBitmap;

    // ProbeForRoom's answer when every endpoint is ejected: no amount of retrying finds room.
    private const int NoneAvailable = -2;

    // ProbeForRoom's and PlaceOverflow's answer when an endpoint's state was detached since the snapshot was read.
    private const int StaleSnapshot = -3;

    // Rounds of the overflow loop before a last-resort placement goes over capacity on the least loaded available
    // endpoint (PickOutcome.OverCapacity) rather than fail while endpoints are available. A round after the first runs
    // only while the total it reads keeps growing, i.e. while other threads keep placing requests, and sweeps only up to
    // MaxSweeps in all (see PlaceOverflow). 64 in a row only happen under pathological churn.
    private const int MaxOverflowRounds = 64;

    // Full sweeps a placement may make in all: the first, and more only while other threads keep placing requests
    // (the total grows between rounds) or the ejection set changed. Bounds a placement under churn at a few passes.
    private const int MaxSweeps = 3;

    // PlaceOverflow's answer when it placed over capacity on the least loaded endpoint, added to that index.
    private const int OverCapacityBase = 1 << 30;

    private readonly long _loadFactorThousandths;
    private readonly OutlierDetector? _ejection;

    /// <summary>The largest accepted load factor.</summary>
    public const double MaxLoadFactor = 100;

    public BoundedLoadPlacer(InFlightTotal total, long loadFactorThousandths, OutlierDetector? ejection)
    {
        Total = total;
        _loadFactorThousandths = loadFactorThousandths;
        _ejection = ejection;
    }

    /// <summary>
    /// The factor c in thousandths, so that capacities are exact integer arithmetic; or 0 when
    /// <paramref name="loadFactor"/> is null (no bound).
    /// </summary>
    /// <exception cref="ArgumentException">c is not above 1 (after rounding to 0.001) or above <see cref="MaxLoadFactor"/>.</exception>
    public static long ToThousandths(double? loadFactor, string parameterName)
    {
        if (loadFactor is not double c)
        {
            return 0;
        }

        if (!(c > 1 && c <= MaxLoadFactor && Math.Round(c * 1000) > 1000))
        {
            throw new ArgumentException(
                $"LoadFactor {c} is not accepted: a bounded-load factor must be above 1 (at least 1.001) and at most {MaxLoadFactor}, for example 1.25; leave it null for no bound.",
                parameterName);
        }

        return (long)Math.Round(c * 1000);
    }

    /// <summary>Requests in flight on the pickable endpoints of the current set (draining ones excluded), plus reservations.</summary>
    public InFlightTotal Total { get; }

    /// <summary>The factor c as applied, rounded to 0.001.</summary>
    public double LoadFactor => _loadFactorThousandths / 1000.0;

    /// <summary>The placer for a picker's options, or <see langword="null"/> when no load factor is set (plain placement).</summary>
    /// <param name="loadFactor">The validated factor c, or <see langword="null"/>.</param>
    /// <param name="total">The balancer's in-flight total; present whenever a factor is set.</param>
    /// <param name="ejection">The balancer's outlier detector, if any.</param>
    public static BoundedLoadPlacer? Create(double? loadFactor, InFlightTotal? total, OutlierDetector? ejection)
    {
        long thousandths = ToThousandths(loadFactor, nameof(loadFactor));
        return thousandths > 0 ? new BoundedLoadPlacer(total!, thousandths, ejection) : null;
    }

    /// <summary>
    /// Places one request among <paramref name="scope"/>'s endpoints, under capacities computed over the whole
    /// snapshot; not placed when the scope has no pickable endpoint, every one is ejected, none has room (after one
    /// round when <paramref name="lastResort"/> is false: the local scope of a topology preference, so that the
    /// request can go to every endpoint instead of waiting here for room), or the snapshot is stale.
    /// </summary>
    public PlacementResult TryPlace<TLocator>(BalancerSnapshot snapshot, PickScope scope, in TLocator locator, ulong keyHash, bool lastResort, out EndpointLease lease)
        where TLocator : struct, IKeyLocator
    {
        lease = default;
        if (scope.Pickable.Length == 0)
        {
            return PlacementResult.NoEndpoints;
        }

        // While none is ejected this is one field read and no clock read.
        Availability availability = Availability.Now(_ejection, snapshot);
        if (availability.TotalWeight == 0)
        {
            return PlacementResult.AllEjected;
        }

        // Step 1 – reserve a slot in the total first, so the total read for the capacity includes this
        // request (HAProxy's "served + 1") and never undercounts requests already placed.
        int reservedTotal = Total.Reserve();

        // Step 2 – the home endpoint, which takes almost every request when loads are balanced.
        int home = locator.Locate(keyHash);
        bool stale = false;
        bool counted = false;
        if (reservedTotal == InFlightTotal.NotSummed)
        {
            // The total is spread over per-processor cells and its sum not read: an idle home admits under any total
            // (a capacity is never below 1), so only a busy one pays for the sum.
            if (TryTakeIdle(snapshot, home, availability))
            {
                lease = new EndpointLease(snapshot.Endpoints[home], snapshot.States[home], PickOutcome.Home);
                return PlacementResult.Placed;
            }

            reservedTotal = Total.Current;
            counted = true;
        }

        if (TryTake(snapshot, home, reservedTotal, availability, ref stale, counted))
        {
            lease = new EndpointLease(snapshot.Endpoints[home], snapshot.States[home], PickOutcome.Home);
            return PlacementResult.Placed;
        }

        // Step 3 – overflow, out of line so the common path stays small.
        int index = stale
            ? StaleSnapshot
            : PlaceOverflow(snapshot, scope, locator, keyHash, home, reservedTotal, availability, lastResort);
        if (index < 0)
        {
            Total.Release();
            return index switch
            {
                StaleSnapshot => PlacementResult.Stale,
                NoneAvailable => PlacementResult.AllEjected,
                _ => PlacementResult.AllOverCapacity,
            };
        }

        PickOutcome outcome = index >= OverCapacityBase ? PickOutcome.OverCapacity : index == home ? PickOutcome.Home : PickOutcome.Overflow;
        index &= OverCapacityBase - 1;
        lease = new EndpointLease(snapshot.Endpoints[index], snapshot.States[index], outcome);
        return PlacementResult.Placed;
    }

    /// <summary>The capacity of an endpoint of <paramref name="weight"/> for a total that includes the request being placed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public LoadCapacity Capacity(int weight, int totalIncludingThis, long totalWeight)
        // No overflow: c ≤ 100,000 thousandths, total < 2^31, weight ≤ 1000, so the product stays below 2^58.
        => new(_loadFactorThousandths * totalIncludingThis * weight, 1000 * totalWeight);

    // Step 1 – one round of probes and one sweep of every endpoint: room anywhere is found, and while sweeping the
    // endpoint with the least load per unit of weight is noted. Within one consistent view (total and ejections) the
    // capacities of the available endpoints sum to more than the requests on them, so the sweep fails only when the
    // view is stale: other threads placed requests reserved after our total read, or counts disagree with the total.
    // Step 2 – re-read the total and retry the home and the noted endpoint (O(1)): capacity grows as w · total, so the
    // least loaded endpoint per unit of weight is the one that admits first. A round whose total did not grow ends the
    // retries (the same view cannot admit more); one whose total grew (others placed requests meanwhile, which moved
    // loads) sweeps again, at most MaxSweeps times in all, then keeps to O(1) rounds.
    // Step 3 – the last resort: over capacity on the noted endpoint. A placement that finds the set full in a view
    // nobody changes thus costs one pass, where 64 full rounds and a separate least-loaded scan cost ~65 passes
    // (6.6 ms per acquire at N = 1000).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int PlaceOverflow<TLocator>(BalancerSnapshot snapshot, PickScope scope, in TLocator locator, ulong keyHash, int home, int reservedTotal, Availability availability, bool lastResort)
        where TLocator : struct, IKeyLocator
    {
        int words = (snapshot.Endpoints.Length + 63) / 64;
        Span<ulong> rejected = words <= StackallocBitmapWords
            ? stackalloc ulong[StackallocBitmapWords]
            : LargeBitmap(words);
        rejected = rejected[..words];
        int totalRead = reservedTotal;
        int maxRounds = lastResort ? MaxOverflowRounds : 1;
        int sweepsLeft = MaxSweeps;
        bool sweep = true;
        int leastLoaded = -1;
        for (int round = 0; round < maxRounds; round++)
        {
            if (sweep)
            {
                sweepsLeft--;
                rejected.Clear();
                Reject(rejected, home);
                int index = ProbeForRoom(snapshot, scope, locator, keyHash, totalRead, rejected, availability, out leastLoaded);
                if (index >= 0 || index == NoneAvailable || index == StaleSnapshot)
                {
                    return index;
                }

                sweep = false;
                if (round + 1 == maxRounds)
                {
                    break;
                }
            }

            int totalNow = Total.Current;
            bool grew = totalNow > totalRead;
            totalRead = Math.Max(totalRead, totalNow);
            Availability now = Availability.Now(_ejection, snapshot);
            if (now.TotalWeight == 0)
            {
                return NoneAvailable;
            }

            if (now.TotalWeight != availability.TotalWeight || now.IsEjected(snapshot, leastLoaded))
            {
                // The ejection set changed under us (rare): the noted endpoint may be out, others back. Sweep again.
                availability = now;
                sweep = true;
                continue;
            }

            availability = now;
            bool stale = false;
            if (TryTake(snapshot, home, totalRead, availability, ref stale) || stale)
            {
                return stale ? StaleSnapshot : home;
            }

            if (TryTake(snapshot, leastLoaded, totalRead, availability, ref stale) || stale)
            {
                return stale ? StaleSnapshot : leastLoaded;
            }

            if (!grew)
            {
                break;
            }

            sweep = sweepsLeft > 0;
        }

        if (!lastResort)
        {
            return -1;
        }

        if (sweep)
        {
            // The last round saw the ejection set change: note the least loaded endpoint again under the current view.
            rejected.Clear();
            Reject(rejected, home);
            int index = ProbeForRoom(snapshot, scope, locator, keyHash, totalRead, rejected, availability, out leastLoaded);
            if (index >= 0 || index == NoneAvailable || index == StaleSnapshot)
            {
                return index;
            }
        }

        // Step 3 – over capacity on the least loaded endpoint the last sweep found (available in the view it last read).
        StateReads.Add();
        EndpointState state = snapshot.States[leastLoaded];
        return state.TryAdd() ? OverCapacityBase + leastLoaded : StaleSnapshot;
    }

    private static ulong[] LargeBitmap(int words)
    {
        ulong[]? bitmap = t_largeBitmap;
        if (bitmap is null || bitmap.Length < words)
        {
            t_largeBitmap = bitmap = new ulong[Math.Max(words, (bitmap?.Length ?? 0) * 2)];
        }

        return bitmap;
    }

    // The index of an endpoint that took the request, else NoneAvailable, StaleSnapshot, or -1 when every available
    // endpoint was full; then leastLoaded is the available endpoint with the least load per unit of weight.
    private int ProbeForRoom<TLocator>(BalancerSnapshot snapshot, PickScope scope, in TLocator locator, ulong keyHash, int totalRead, Span<ulong> rejected, Availability availability, out int leastLoaded)
        where TLocator : struct, IKeyLocator
    {
        leastLoaded = -1;

        // Pseudo-random positions seeded by the key (Chen, Coleman, Shrivastava, arXiv 1908.08762): the
        // same key tries the same endpoints in the same order, different keys spill to different places,
        // so one hot endpoint's spill does not cascade onto its neighbour as a linear walk would.
        ProbeSequence probes = new(keyHash);
        for (int attempt = 0; attempt < MaxRandomProbes; attempt++)
        {
            int candidate = locator.Locate(probes.Next());
            if (IsRejected(rejected, candidate))
            {
                continue;
            }

            bool stale = false;
            if (TryTake(snapshot, candidate, totalRead, availability, ref stale))
            {
                return candidate;
            }

            if (stale)
            {
                return StaleSnapshot;
            }

            Reject(rejected, candidate);
        }

        // A sweep over every pickable endpoint from a key-derived start finds room whenever any
        // endpoint has it; the start differs per key, so this too spreads instead of cascading.
        int[] pickable = scope.Pickable;
        int start = scope.Modulo((uint)keyHash);
        long leastLoad = 0;
        int leastWeight = 1;
        for (int step = 0; step < pickable.Length; step++)
        {
            int position = start + step;
            int candidate = pickable[position >= pickable.Length ? position - pickable.Length : position];
            StateReads.Add();
            if (availability.IsEjected(snapshot, candidate))
            {
                continue;
            }

            bool stale = false;
            if (!IsRejected(rejected, candidate) && TryTake(snapshot, candidate, totalRead, availability, ref stale, counted: true, readFirst: true))
            {
                return candidate;
            }

            if (stale)
            {
                return StaleSnapshot;
            }

            // Full: note the least load per unit of weight (load / weight < leastLoad / leastWeight without dividing).
            long load = snapshot.States[candidate].InFlight;
            int weight = snapshot.Endpoints[candidate].Weight;
            if (leastLoaded < 0 || load * leastWeight < leastLoad * weight)
            {
                (leastLoaded, leastLoad, leastWeight) = (candidate, load, weight);
            }
        }

        return leastLoaded >= 0 ? -1 : NoneAvailable;
    }

    // True when the endpoint had no request in flight and took this one; false otherwise (ejected, busy, detached).
    private static bool TryTakeIdle(BalancerSnapshot snapshot, int index, Availability availability)
    {
        StateReads.Add();
        return !availability.IsEjected(snapshot, index) && snapshot.States[index].TryAddIfIdle();
    }

    // True when the endpoint took the request; false with `stale` set when its state was detached (removed or
    // reweighted to 0 after the snapshot was read): the placement must start over on the current snapshot. A sweep
    // reads the count first (readFirst): most endpoints it meets are full, where a guessing swap would fail on each.
    // (Reading first in the overflow probes too measured no clear change: 51.6 / 70.3 / 116.4 ns against 54.2 /
    // 74.8 / 108.4 at N = 10 / 100 / 1000, two runs minutes apart.)
    private bool TryTake(BalancerSnapshot snapshot, int index, int totalRead, Availability availability, ref bool stale, bool counted = false, bool readFirst = false)
    {
        if (!counted)
        {
            StateReads.Add();
        }

        if (availability.IsEjected(snapshot, index))
        {
            return false;
        }

        EndpointState state = snapshot.States[index];
        LoadCapacity capacity = Capacity(snapshot.Endpoints[index].Weight, totalRead, availability.TotalWeight);
        if (readFirst ? state.TryAddWithinReadFirst(capacity) : state.TryAddWithin(capacity))
        {
            return true;
        }

        stale = state.IsDetached;
        return false;
    }

    /// <summary>
    /// Ejections as seen by one placement: the detector and the clock read once (or none), and the total
    /// weight of the endpoints that may receive requests.
    /// </summary>
    /// <remarks>
    /// Ejected endpoints count as full, and capacities are shares of the available weight only: computed over
    /// the whole set's weight they would sum to less than the total in flight while endpoints are ejected,
    /// every available endpoint would be full, and placement would retry forever.
    /// </remarks>
    private readonly struct Availability(OutlierDetector? ejection, long now, long totalWeight)
    {
        /// <summary>The weight capacities are shares of.</summary>
        public long TotalWeight { get; } = totalWeight;

        /// <summary>
        /// The current view: while no endpoint is ejected, the whole set (one field read). Otherwise the clock and
        /// the available weight, read together so that capacities and ejection checks agree. PERF: the available
        /// weight comes from the all-endpoints scope's table of available endpoints, cached per ejection epoch
        /// (<see cref="PickScope.Available"/>): O(1) while the ejection set is unchanged, O(n) once after each change.
        /// Summing it here made every placement O(n) for as long as any endpoint was ejected.
        /// </summary>
        public static Availability Now(OutlierDetector? ejection, BalancerSnapshot snapshot)
        {
            if (ejection is not { AnyEjected: true })
            {
                return new Availability(null, 0, snapshot.TotalWeight);
            }

            long now = ejection.Refresh();
            return new Availability(ejection, now, snapshot.All.Available(snapshot, ejection, now).TotalWeight);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool IsEjected(BalancerSnapshot snapshot, int index)
            => ejection is not null && OutlierDetector.IsEjected(snapshot.States[index], now);
    }

    private static bool IsRejected(Span<ulong> rejected, int index) => (rejected[index >> 6] & (1UL << index)) != 0;

    private static void Reject(Span<ulong> rejected, int index) => rejected[index >> 6] |= 1UL << index;
}
