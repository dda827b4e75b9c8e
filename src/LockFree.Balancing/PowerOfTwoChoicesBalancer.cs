using System.Runtime.CompilerServices;
using LockFree.Balancing.Hashing;
using LockFree.Balancing.Load;
using LockFree.Balancing.Randomness;

namespace LockFree.Balancing;

/// <summary>
/// Power of two choices (Mitzenmacher; YARP's and Microsoft.Extensions.ServiceDiscovery's default): draw
/// two distinct endpoints at random by weight and send the request to the one with the lower load per
/// unit of weight. Keys are ignored.
/// </summary>
/// <remarks>
/// Two random choices avoid both round robin's blindness to slow endpoints and "least loaded"'s herding
/// (every client sending to the same idle endpoint at once). The load is the configured
/// <see cref="LoadMeasure"/>; with <see cref="LoadMeasure.InFlight"/> use <c>Acquire</c>, so that the
/// counts exist. Thread-safe; picks take no lock and allocate nothing.
/// </remarks>
public sealed class PowerOfTwoChoicesBalancer : LoadBalancer
{
    // Redraws of the second candidate before an exact O(n) weighted draw over the others, when draws keep
    // colliding with the first (one endpoint holding almost all the weight) or landing on ejected endpoints.
    private const int DistinctDrawAttempts = 8;

    private readonly PickRandom _random;
    private readonly LoadMeasure _measure;
    private readonly double _decayPerTick;
    private readonly double _reportDecayPerTick;

    /// <summary>Creates a power-of-two-choices balancer comparing requests in flight.</summary>
    public PowerOfTwoChoicesBalancer()
        : this(new PowerOfTwoChoicesOptions())
    {
    }

    /// <summary>Creates a power-of-two-choices balancer.</summary>
    /// <param name="options">The load measure, its clock and half-life, and an optional seed.</param>
    /// <exception cref="ArgumentException">The load measure is not defined, the half-life is outside 1 ms to 1 h, or a shared option is out of range.</exception>
    public PowerOfTwoChoicesBalancer(PowerOfTwoChoicesOptions options)
        : base(options, placesByKey: false, keepsInFlightTotal: false)
    {
        if (!Enum.IsDefined(options.LoadMeasure))
        {
            throw new ArgumentException($"LoadMeasure {(int)options.LoadMeasure} is not accepted: use InFlight, RequestRate or Reported.", nameof(options));
        }

        if (options.RequestRateHalfLife < TimeSpan.FromMilliseconds(1) || options.RequestRateHalfLife > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"RequestRateHalfLife {options.RequestRateHalfLife} is not accepted: it must be between 1 ms and 1 h (default 10 s).", nameof(options));
        }

        if (options.ReportedLoadHalfLife < TimeSpan.FromMilliseconds(1) || options.ReportedLoadHalfLife > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"ReportedLoadHalfLife {options.ReportedLoadHalfLife} is not accepted: it must be between 1 ms and 1 h (default 10 s).", nameof(options));
        }

        _random = new PickRandom(options.Seed);
        _measure = options.LoadMeasure;
        LoadMeasure = options.LoadMeasure;
        _decayPerTick = Math.Log(2) / (options.RequestRateHalfLife.TotalSeconds * Time.TimestampFrequency);
        _reportDecayPerTick = Math.Log(2) / (options.ReportedLoadHalfLife.TotalSeconds * Time.TimestampFrequency);
    }

    /// <summary>What the two candidates are compared by.</summary>
    public LoadMeasure LoadMeasure { get; }

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
        outcome = PickOutcome.Home;
        if (draws.Count <= 1)
        {
            if (draws.Count == 0)
            {
                return -1;
            }

            int only = scope.Pickable[0];
            return ChecksEjections(out long whenAlone) && IsEjected(snapshot, only, whenAlone) ? -1 : only;
        }

        // Step 1 – the first candidate, by weight; if it is ejected, redrawn by weight among the available endpoints.
        ulong random = _random.Next();
        int first = draws.Draw(random);
        bool checksEjections = ChecksEjections(out long now);
        if (checksEjections && IsEjected(snapshot, first, now))
        {
            outcome = PickOutcome.Overflow;
            first = RedrawAvailable(snapshot, scope, random, now);
            if (first < 0)
            {
                return -1;
            }
        }

        // Step 2 – the second candidate, by weight among the available endpoints other than the first: redraws,
        // then (one endpoint holding almost all the weight, or most of it ejected) an exact weighted draw over the
        // others. A fixed neighbour here would pair the heavy endpoint with the same partner every time.
        int second = -1;
        random = KeyHasher.Mix(~random); // a sequence apart from the redraws of Step 1
        for (int attempt = 0; attempt < DistinctDrawAttempts; attempt++)
        {
            random = KeyHasher.Mix(random + ProbeSequence.GoldenGamma);
            int candidate = draws.Draw(random);
            if (candidate == first)
            {
                continue;
            }

            if (checksEjections && IsEjected(snapshot, candidate, now))
            {
                outcome = PickOutcome.Overflow;
                continue;
            }

            second = candidate;
            break;
        }

        if (second < 0)
        {
            second = DrawOther(snapshot, scope, first, KeyHasher.Mix(random + ProbeSequence.GoldenGamma), checksEjections, now);
            if (second < 0)
            {
                return first; // the first is the only available endpoint
            }
        }

        return LessLoaded(snapshot, first, second);
    }

    private protected override PlacementResult TryAcquireIn(BalancerSnapshot snapshot, PickScope scope, ulong keyHash, bool lastResort, out EndpointLease lease)
    {
        int index = PickIn(snapshot, scope, keyHash, out PickOutcome outcome);
        if (index < 0)
        {
            lease = default;
            return scope.Pickable.Length == 0 ? PlacementResult.NoEndpoints : PlacementResult.AllEjected;
        }

        EndpointState state = snapshot.States[index];
        if (!state.TryAdd())
        {
            lease = default;
            return PlacementResult.Stale;
        }

        if (_measure == LoadMeasure.RequestRate)
        {
            // Only acquired requests count toward the rate: a Pick without a lease sends nothing we know of.
            state.RecordRequest(Time.GetTimestamp(), _decayPerTick);
        }

        lease = new EndpointLease(snapshot.Endpoints[index], state, outcome);
        return PlacementResult.Placed;
    }

    private int LessLoaded(BalancerSnapshot snapshot, int first, int second)
    {
        // Compare load per unit of weight without dividing: a/wa < b/wb ⇔ a·wb < b·wa. Ties go to the
        // first draw, which is itself random.
        double firstLoad = Load(snapshot.States[first]) * snapshot.Endpoints[second].Weight;
        double secondLoad = Load(snapshot.States[second]) * snapshot.Endpoints[first].Weight;
        return secondLoad < firstLoad ? second : first;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private double Load(EndpointState state) => _measure switch
    {
        LoadMeasure.InFlight => state.InFlight,
        LoadMeasure.Reported => state.DecayedReportedLoad(Time.GetTimestamp(), _reportDecayPerTick),
        _ => state.DecayedRequests(Time.GetTimestamp(), _decayPerTick),
    };

    private protected override double? RecentRequests(EndpointState state, long now)
        => _measure == LoadMeasure.RequestRate ? state.DecayedRequests(now, _decayPerTick) : null;

    // The cold path of Step 2: a weighted draw over the scope's available endpoints other than `excluded`, O(n);
    // -1 when there is none.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int DrawOther(BalancerSnapshot snapshot, PickScope scope, int excluded, ulong random, bool checksEjections, long now)
    {
        long total = 0;
        foreach (int index in scope.Pickable)
        {
            total += Eligible(index) ? snapshot.Endpoints[index].Weight : 0;
        }

        if (total == 0)
        {
            return -1;
        }

        // A uniform value in [0, total) by multiply-shift, then the endpoint whose weight interval holds it.
        long target = (long)(((UInt128)random * (ulong)total) >> 64);
        foreach (int index in scope.Pickable)
        {
            if (Eligible(index))
            {
                target -= snapshot.Endpoints[index].Weight;
                if (target < 0)
                {
                    return index;
                }
            }
        }

        return -1; // unreachable: the weights were summed from the same immutable snapshot

        bool Eligible(int index) => index != excluded && !(checksEjections && IsEjected(snapshot, index, now));
    }
}
