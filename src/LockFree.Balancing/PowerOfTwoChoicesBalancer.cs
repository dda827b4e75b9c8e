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
    // Redraws before falling back to the next pickable endpoint, when the two draws keep colliding
    // (one endpoint holding almost all the weight).
    private const int DistinctDrawAttempts = 4;

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

        ulong random = _random.Next();
        ulong firstRandom = random;
        int first = draws.Draw(random);
        int second = first;
        for (int attempt = 0; attempt < DistinctDrawAttempts && second == first; attempt++)
        {
            random = KeyHasher.Mix(random + ProbeSequence.GoldenGamma);
            second = draws.Draw(random);
        }

        if (second == first)
        {
            second = NextPickable(scope, first);
        }

        if (ChecksEjections(out long now))
        {
            // An ejected candidate is replaced by the next available endpoint from a random start. Either
            // replacement can come back empty (-1) if other threads eject the rest meanwhile.
            bool firstEjected = IsEjected(snapshot, first, now);
            bool secondEjected = IsEjected(snapshot, second, now);
            if (firstEjected || secondEjected)
            {
                outcome = PickOutcome.Overflow;
                first = firstEjected ? FirstAvailable(snapshot, scope.Pickable, scope.Modulo((uint)firstRandom), now) : first;
                second = secondEjected ? FirstAvailable(snapshot, scope.Pickable, scope.Modulo((uint)random), now) : second;
                if (first < 0 || second < 0)
                {
                    return Math.Max(first, second);
                }
            }
        }

        return LessLoaded(snapshot, first, second);
    }

    private protected override bool TryAcquireIn(BalancerSnapshot snapshot, PickScope scope, ulong keyHash, bool lastResort, out EndpointLease lease)
    {
        int index = PickIn(snapshot, scope, keyHash, out PickOutcome outcome);
        if (index < 0)
        {
            lease = default;
            return false;
        }

        EndpointState state = snapshot.States[index];
        state.Add();
        if (_measure == LoadMeasure.RequestRate)
        {
            // Only acquired requests count toward the rate: a Pick without a lease sends nothing we know of.
            state.RecordRequest(Time.GetTimestamp(), _decayPerTick);
        }

        lease = new EndpointLease(snapshot.Endpoints[index], state, outcome);
        return true;
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

    private static int NextPickable(PickScope scope, int index)
    {
        int[] pickable = scope.Pickable;
        int position = Array.BinarySearch(pickable, index);
        return pickable[position + 1 == pickable.Length ? 0 : position + 1];
    }
}
