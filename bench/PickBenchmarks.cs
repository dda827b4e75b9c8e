using BenchmarkDotNet.Attributes;
using LockFree.Balancing.Benchmarks.Baselines;
using LockFree.Balancing.Hashing;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// The cost of one pick, single-threaded, at N = 10, 100 and 1000 endpoints with V = 160 (256 for
/// <see cref="MutexRing"/>, as in the Go original), over 16–32 byte keys from <see cref="KeyPool"/>.
/// </summary>
/// <remarks>
/// Every method makes <see cref="PicksPerInvoke"/> picks per call (declared with
/// <c>OperationsPerInvoke</c>), so the reported time is per pick and the call overhead is amortized
/// the same way for every method; the ratios compare like with like. The key cursor advances by
/// <see cref="PicksPerInvoke"/> each call and wraps with <see cref="KeyPool.Mask"/>.
/// </remarks>
public class PickBenchmarks : ISmokeChecked
{
    /// <summary>Picks per benchmark call.</summary>
    public const int PicksPerInvoke = 64;

    private byte[][] _keys = [];
    private int _cursor;
    private HashSet<Endpoint> _members = [];
    private SortedArrayRing _sortedRing = null!;
    private LowerBoundRing _lowerBoundRing = null!;
    private MutexCrcRing _mutexRing = null!;
    private MutexCrcRing _mutexRingSystemCrc = null!;
    private MutexCrcRing _mutexRingXxh3 = null!;
    private ConsistentHashBalancer _plain = null!;
    private ConsistentHashBalancer _bounded = null!;
    private RoundRobinBalancer _roundRobin = null!;
    private RoundRobinBalancer _weightedRoundRobin = null!;
    private MaglevBalancer _maglev = null!;
    private MaglevBalancer _maglevBounded = null!;
    private PowerOfTwoChoicesBalancer _powerOfTwo = null!;
    private ConsistentHashBalancer _plainLocal = null!;
    private ConsistentHashBalancer _boundedLocal = null!;

    /// <summary>Endpoints in the set.</summary>
    [Params(10, 100, 1000)]
    public int N { get; set; }

    /// <summary>Builds every picker over the same N endpoints, once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _keys = KeyPool.Create();
        _cursor = 0;
        Endpoint[] endpoints = TestCluster.Endpoints(N);
        _members = [.. endpoints];
        _sortedRing = new SortedArrayRing(endpoints, TestCluster.VirtualNodes);
        _mutexRing = new MutexCrcRing(MutexCrcRing.DefaultReplicas, TestCluster.LoadFactor);
        _mutexRing.Add(endpoints);
        _mutexRingSystemCrc = new MutexCrcRing(MutexCrcRing.DefaultReplicas, TestCluster.LoadFactor, MutexRingHash.SystemCrc32);
        _mutexRingSystemCrc.Add(endpoints);
        _mutexRingXxh3 = new MutexCrcRing(MutexCrcRing.DefaultReplicas, TestCluster.LoadFactor, MutexRingHash.Xxh3);
        _mutexRingXxh3.Add(endpoints);
        _plain = TestCluster.Plain(endpoints);
        _lowerBoundRing = new LowerBoundRing(_plain.CurrentRing);
        _bounded = TestCluster.Bounded(endpoints);
        _roundRobin = new RoundRobinBalancer();
        _roundRobin.Update(endpoints);
        _weightedRoundRobin = new RoundRobinBalancer();
        _weightedRoundRobin.Update(endpoints.Select((e, i) => e.WithWeight(1 + (i % 4))));
        _maglev = new MaglevBalancer();
        _maglev.Update(endpoints);
        _maglevBounded = new MaglevBalancer(new MaglevOptions { LoadFactor = TestCluster.LoadFactor });
        _maglevBounded.Update(endpoints);
        _powerOfTwo = new PowerOfTwoChoicesBalancer();
        _powerOfTwo.Update(endpoints);

        // The same endpoints spread over three zones; the caller prefers one, so a third of them are local.
        Endpoint[] zoned = [.. endpoints.Select((e, i) => new Endpoint(e.Host, e.Port, zone: $"zone-{i % 3}"))];
        TopologyOptions topology = new() { LocalZone = "zone-0" };
        _plainLocal = new ConsistentHashBalancer(new ConsistentHashOptions { VirtualNodesPerEndpoint = TestCluster.VirtualNodes, Topology = topology });
        _plainLocal.Update(zoned);
        _boundedLocal = new ConsistentHashBalancer(new ConsistentHashOptions { VirtualNodesPerEndpoint = TestCluster.VirtualNodes, LoadFactor = TestCluster.LoadFactor, Topology = topology });
        _boundedLocal.Update(zoned);
    }

    /// <summary>
    /// Baseline: the common C# ring, a sorted <c>uint[]</c> + <see cref="Array.BinarySearch{T}(T[], T)"/>,
    /// same XXH3 key hash, same points and V as <see cref="ConsistentHashPick"/>.
    /// </summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? BinarySearchRing()
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            picked = _sortedRing.Pick(keys[(start + i) & KeyPool.Mask]);
        }

        return picked;
    }

    /// <summary>
    /// A fairer textbook ring: the same sorted points searched by a branchless lower bound (conditional
    /// moves, no mispredictions), same XXH3 key hash. Compare with <see cref="BinarySearchRing"/>.
    /// </summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public int BranchlessRing()
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        int folded = 0;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            folded += _lowerBoundRing.BranchlessOwnerOf((uint)(KeyHasher.Hash(keys[(start + i) & KeyPool.Mask]) >> 32)) + 1;
        }

        return folded;
    }

    /// <summary>
    /// dlespiau/balance's design: Get (lock, CRC-32, binary search, map lookup, bounded-load check,
    /// count) then Put (lock, CRC-32 of the endpoint's replica 0, uncount), 256 replicas, c = 1.25.
    /// Compare with <see cref="BoundedLoadAcquire"/>, which does the same job.
    /// </summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? MutexRing() => MutexGetPut(_mutexRing);

    /// <summary><see cref="MutexRing"/> with System.IO.Hashing's vectorised <c>Crc32</c> (same points): the Go seed's hash at Go's speed or better.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? MutexRingSystemCrc32() => MutexGetPut(_mutexRingSystemCrc);

    /// <summary><see cref="MutexRing"/> hashing with XXH3-64 like the library: what is left is the lock and the data structures.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? MutexRingXxh3() => MutexGetPut(_mutexRingXxh3);

    /// <summary>The library's plain pick: <see cref="LoadBalancer.TryPick(ReadOnlySpan{byte}, out Endpoint?)"/>, no load counted.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? ConsistentHashPick()
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            _plain.TryPick(keys[(start + i) & KeyPool.Mask], out picked);
        }

        return picked;
    }

    /// <summary>Plain balancer, <see cref="LoadBalancer.TryAcquire(ReadOnlySpan{byte}, out EndpointLease)"/> + dispose: the pick plus the in-flight count and its release.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? ConsistentHashAcquire() => AcquireAndRelease(_plain);

    /// <summary>Bounded loads (c = 1.25), acquire + dispose. Single-threaded the load is 0 or 1, so no pick overflows: this is the no-overflow cost.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? BoundedLoadAcquire() => AcquireAndRelease(_bounded);

    /// <summary>
    /// <see cref="ConsistentHashPick"/> with a topology preference (the caller's zone holds a third of the endpoints):
    /// the cost of trying the local scope first. Compare with <see cref="ConsistentHashPick"/>.
    /// </summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? ConsistentHashTopologyPick()
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            _plainLocal.TryPick(keys[(start + i) & KeyPool.Mask], out picked);
        }

        return picked;
    }

    /// <summary><see cref="BoundedLoadAcquire"/> with the same topology preference. Compare with <see cref="BoundedLoadAcquire"/>.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? BoundedLoadTopologyAcquire() => AcquireAndRelease(_boundedLocal);

    /// <summary>Round robin: <see cref="LoadBalancer.TryPick(out Endpoint?)"/>, no key.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? RoundRobinPick()
    {
        RoundRobinBalancer balancer = _roundRobin;
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            balancer.TryPick(out picked);
        }

        return picked;
    }

    /// <summary>Weighted round robin (weights 1–4 in turn): the same one increment, over a precomputed interleaved cycle.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? WeightedRoundRobinPick()
    {
        RoundRobinBalancer balancer = _weightedRoundRobin;
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            balancer.TryPick(out picked);
        }

        return picked;
    }

    /// <summary>Maglev (M = 65537): hash, snapshot read, one table load; no load counted.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? MaglevPick()
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            _maglev.TryPick(keys[(start + i) & KeyPool.Mask], out picked);
        }

        return picked;
    }

    /// <summary>Maglev with bounded loads (c = 1.25), acquire + dispose, no overflow (single-threaded).</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? MaglevBoundedAcquire() => AcquireAndRelease(_maglevBounded);

    /// <summary>Power of two choices by in-flight count: two weighted random draws and a comparison; no load counted.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? PowerOfTwoChoicesPick()
    {
        PowerOfTwoChoicesBalancer balancer = _powerOfTwo;
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            balancer.TryPick(out picked);
        }

        return picked;
    }

    /// <summary>Power of two choices, acquire + dispose: the pick plus the in-flight count it compares.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? PowerOfTwoChoicesAcquire() => AcquireAndRelease(_powerOfTwo);

    /// <summary>The floor: XXH3-64 of the key and nothing else.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public ulong HashOnly()
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        ulong folded = 0;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            folded ^= KeyHasher.Hash(keys[(start + i) & KeyPool.Mask]);
        }

        return folded;
    }

    void ISmokeChecked.CheckResult(string benchmark, object? result)
    {
        switch (result)
        {
            case Endpoint endpoint when !_members.Contains(endpoint):
                throw new InvalidOperationException($"{benchmark} picked {endpoint}, which is not in the set.");
            case Endpoint endpoint when benchmark.Contains("Topology", StringComparison.Ordinal) && endpoint.Zone != "zone-0":
                throw new InvalidOperationException($"{benchmark} picked {endpoint} in {endpoint.Zone}, outside the caller's zone.");
            case Endpoint:
                break;
            case int folded when folded < PicksPerInvoke:
                throw new InvalidOperationException($"{benchmark} folded {PicksPerInvoke} owner indices + 1 to {folded}.");
            case int:
                break;
            case ulong hash when hash == 0:
                throw new InvalidOperationException($"{benchmark} folded {PicksPerInvoke} key hashes to 0.");
            case ulong:
                break;
            default:
                throw new InvalidOperationException($"{benchmark} returned {result?.ToString() ?? "null"}.");
        }
    }

    void ISmokeChecked.CheckAfterCalls(string benchmark)
    {
        foreach (MutexCrcRing ring in new[] { _mutexRing, _mutexRingSystemCrc, _mutexRingXxh3 })
        {
            if (ring.TotalLoad != 0)
            {
                throw new InvalidOperationException($"{benchmark}: a mutex ring's load is {ring.TotalLoad} after every Get was Put.");
            }
        }

        foreach (Endpoint endpoint in _members)
        {
            if (_bounded.InFlightOf(endpoint.Key) != 0 || _plain.InFlightOf(endpoint.Key) != 0
                || _maglevBounded.InFlightOf(endpoint.Key) != 0 || _powerOfTwo.InFlightOf(endpoint.Key) != 0
                || _boundedLocal.InFlightOf(endpoint.Key) != 0)
            {
                throw new InvalidOperationException($"{benchmark}: {endpoint} still has requests in flight after every lease was disposed.");
            }
        }

        // The baseline must place keys exactly where the library does, or the ratio compares different work.
        int disagreements = 0;
        Endpoint[] owners = _plain.CurrentSnapshot.Endpoints;
        foreach (byte[] key in _keys)
        {
            _plain.TryPick(key, out Endpoint? expected);
            if (!Equals(_sortedRing.Pick(key), expected) || !Equals(owners[_lowerBoundRing.BranchlessOwnerOf((uint)(KeyHasher.Hash(key) >> 32))], expected))
            {
                disagreements++;
            }
        }

        if (disagreements != 0)
        {
            throw new InvalidOperationException($"{benchmark}: BinarySearchRing and ConsistentHashBalancer disagree on {disagreements} of {_keys.Length} keys.");
        }
    }

    private Endpoint? MutexGetPut(MutexCrcRing ring)
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            picked = ring.Get(keys[(start + i) & KeyPool.Mask]);
            ring.Put(picked!);
        }

        return picked;
    }

    private Endpoint? AcquireAndRelease(LoadBalancer balancer)
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            if (balancer.TryAcquire(keys[(start + i) & KeyPool.Mask], out EndpointLease lease))
            {
                picked = lease.Endpoint;
                lease.Dispose();
            }
        }

        return picked;
    }

    private int NextBatch()
    {
        int start = _cursor;
        _cursor = (start + PicksPerInvoke) & KeyPool.Mask;
        return start;
    }
}
