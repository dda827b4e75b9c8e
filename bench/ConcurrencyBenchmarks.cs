using BenchmarkDotNet.Attributes;
using LockFree.Balancing.Benchmarks.Baselines;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// Picks per second with 1 and 2 threads (the benchmark machine has 2 cores) for every picker over one shared
/// balancer of N = 100 endpoints, V = 160: what the shared counters (the round-robin cursor, the in-flight
/// counts and the bounded-load total) cost when two cores hammer them, against the Go seed's design
/// (<see cref="MutexCrcRing"/>: one lock around every Get and Put) under the same threads.
/// </summary>
/// <remarks>
/// <para>
/// One call is one batch of <see cref="PicksPerCall"/> picks split evenly over the threads (a
/// <see cref="ThreadGang"/>, started once), each thread cycling through its own region of the key pool, so
/// the reported time is wall time per pick over all threads: throughput is its inverse. Perfect scaling
/// halves the time from 1 to 2 threads; a contended cache line makes it rise instead.
/// </para>
/// <para>Bounded acquire, acquire and MutexRing rows release every request they place, so the loads stay 0 or 1 per thread.</para>
/// </remarks>
public class ConcurrencyBenchmarks : ISmokeChecked
{
    /// <summary>Picks per call, over all threads.</summary>
    public const int PicksPerCall = 1 << 15;

    private const int Endpoints = 100;

    private byte[][] _keys = [];
    private HashSet<Endpoint> _members = [];
    private ThreadGang _gang = null!;
    private Endpoint?[] _lastPicked = [];
    private long[] _cpuNanoseconds = [];
    private MutexCrcRing _mutexRing = null!;
    private RoundRobinBalancer _roundRobin = null!;
    private RandomBalancer _random = null!;
    private PowerOfTwoChoicesBalancer _powerOfTwo = null!;
    private ConsistentHashBalancer _plain = null!;
    private ConsistentHashBalancer _bounded = null!;
    private MaglevBalancer _maglev = null!;
    private MaglevBalancer _maglevBounded = null!;
    private Action<int> _mutexWork = null!;
    private Action<int> _roundRobinWork = null!;
    private Action<int> _randomWork = null!;
    private Action<int> _powerOfTwoPickWork = null!;
    private Action<int> _powerOfTwoAcquireWork = null!;
    private Action<int> _consistentPickWork = null!;
    private Action<int> _consistentAcquireWork = null!;
    private Action<int> _boundedAcquireWork = null!;
    private Action<int> _maglevPickWork = null!;
    private Action<int> _maglevBoundedWork = null!;

    /// <summary>Threads picking at once.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    private int PicksPerThread => PicksPerCall / Threads;

    /// <summary>CPU time the threads spent in their shares since the last call, summed (Linux; 0 elsewhere). Resets it.</summary>
    internal long TakeCpuNanoseconds()
    {
        long total = 0;
        for (int thread = 0; thread < Threads; thread++)
        {
            total += _cpuNanoseconds[thread * 16];
            _cpuNanoseconds[thread * 16] = 0;
        }

        return total;
    }

    /// <summary>Builds every picker once and starts the threads.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _keys = KeyPool.Create();
        Endpoint[] endpoints = TestCluster.Endpoints(Endpoints);
        _members = [.. endpoints];
        _lastPicked = new Endpoint?[Threads * 16]; // one slot per thread, 16 apart (128 bytes): no false sharing
        _cpuNanoseconds = new long[Threads * 16];
        _mutexRing = new MutexCrcRing(MutexCrcRing.DefaultReplicas, TestCluster.LoadFactor);
        _mutexRing.Add(endpoints);
        _roundRobin = new RoundRobinBalancer();
        _roundRobin.Update(endpoints);
        _random = new RandomBalancer();
        _random.Update(endpoints);
        _powerOfTwo = new PowerOfTwoChoicesBalancer();
        _powerOfTwo.Update(endpoints);
        _plain = TestCluster.Plain(endpoints);
        _bounded = TestCluster.Bounded(endpoints);
        _maglev = new MaglevBalancer();
        _maglev.Update(endpoints);
        _maglevBounded = new MaglevBalancer(new MaglevOptions { LoadFactor = TestCluster.LoadFactor });
        _maglevBounded.Update(endpoints);

        _mutexWork = thread => MutexRingShare(thread);
        _roundRobinWork = thread => KeylessPickShare(_roundRobin, thread);
        _randomWork = thread => KeylessPickShare(_random, thread);
        _powerOfTwoPickWork = thread => KeylessPickShare(_powerOfTwo, thread);
        _powerOfTwoAcquireWork = thread => KeylessAcquireShare(_powerOfTwo, thread);
        _consistentPickWork = thread => KeyedPickShare(_plain, thread);
        _consistentAcquireWork = thread => KeyedAcquireShare(_plain, thread);
        _boundedAcquireWork = thread => KeyedAcquireShare(_bounded, thread);
        _maglevPickWork = thread => KeyedPickShare(_maglev, thread);
        _maglevBoundedWork = thread => KeyedAcquireShare(_maglevBounded, thread);
        _gang = new ThreadGang(Threads);
    }

    /// <summary>Stops the threads.</summary>
    [GlobalCleanup]
    public void Cleanup() => _gang.Dispose();

    /// <summary>Baseline: the Go seed's design, Get + Put under one lock, byte-at-a-time CRC-32, c = 1.25.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = PicksPerCall)]
    public Endpoint? MutexRing() => RunBatch(_mutexWork);

    /// <summary>Round robin: one interlocked increment of the shared cursor per pick.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerCall)]
    public Endpoint? RoundRobinPick() => RunBatch(_roundRobinWork);

    /// <summary>Random: per-thread randomness, nothing shared written.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerCall)]
    public Endpoint? RandomPick() => RunBatch(_randomWork);

    /// <summary>Power of two choices, pick only: reads two in-flight counts.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerCall)]
    public Endpoint? PowerOfTwoChoicesPick() => RunBatch(_powerOfTwoPickWork);

    /// <summary>Power of two choices, acquire + release: writes the chosen endpoint's in-flight count twice.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerCall)]
    public Endpoint? PowerOfTwoChoicesAcquire() => RunBatch(_powerOfTwoAcquireWork);

    /// <summary>Consistent hash, pick only: reads the snapshot, writes nothing shared.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerCall)]
    public Endpoint? ConsistentHashPick() => RunBatch(_consistentPickWork);

    /// <summary>Consistent hash, acquire + release: the home's in-flight count, incremented and decremented.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerCall)]
    public Endpoint? ConsistentHashAcquire() => RunBatch(_consistentAcquireWork);

    /// <summary>Bounded loads (c = 1.25), acquire + release: the shared in-flight total (reserve, release) and the home's CAS.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerCall)]
    public Endpoint? BoundedLoadAcquire() => RunBatch(_boundedAcquireWork);

    /// <summary>Maglev, pick only.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerCall)]
    public Endpoint? MaglevPick() => RunBatch(_maglevPickWork);

    /// <summary>Maglev with bounded loads, acquire + release.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerCall)]
    public Endpoint? MaglevBoundedAcquire() => RunBatch(_maglevBoundedWork);

    void ISmokeChecked.CheckResult(string benchmark, object? result)
    {
        if (result is not Endpoint endpoint || !_members.Contains(endpoint))
        {
            throw new InvalidOperationException($"{benchmark} returned {result ?? "null"}, not an endpoint of the set.");
        }
    }

    void ISmokeChecked.CheckAfterCalls(string benchmark)
    {
        if (_mutexRing.TotalLoad != 0)
        {
            throw new InvalidOperationException($"{benchmark}: the mutex ring's load is {_mutexRing.TotalLoad} after every Get was Put.");
        }

        foreach (Endpoint endpoint in _members)
        {
            if (_plain.InFlightOf(endpoint.Key) != 0 || _bounded.InFlightOf(endpoint.Key) != 0
                || _powerOfTwo.InFlightOf(endpoint.Key) != 0 || _maglevBounded.InFlightOf(endpoint.Key) != 0)
            {
                throw new InvalidOperationException($"{benchmark}: {endpoint} still has requests in flight after every lease was disposed.");
            }
        }
    }

    private Endpoint? RunBatch(Action<int> work)
    {
        Array.Clear(_lastPicked);
        _gang.Run(work);
        for (int thread = 0; thread < Threads; thread++)
        {
            if (_lastPicked[thread * 16] is null)
            {
                return null; // a share picked nothing: CheckResult reports it
            }
        }

        return _lastPicked[0];
    }

    private void MutexRingShare(int thread)
    {
        long cpuStart = ThreadCpuTime.NowNanoseconds();
        byte[][] keys = _keys;
        MutexCrcRing ring = _mutexRing;
        int offset = thread * (KeyPool.Size / 2);
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerThread; i++)
        {
            picked = ring.Get(keys[(offset + i) & KeyPool.Mask]);
            ring.Put(picked!);
        }

        _cpuNanoseconds[thread * 16] += ThreadCpuTime.NowNanoseconds() - cpuStart;
        _lastPicked[thread * 16] = picked;
    }

    private void KeylessPickShare(LoadBalancer balancer, int thread)
    {
        long cpuStart = ThreadCpuTime.NowNanoseconds();
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerThread; i++)
        {
            balancer.TryPick(out picked);
        }

        _cpuNanoseconds[thread * 16] += ThreadCpuTime.NowNanoseconds() - cpuStart;
        _lastPicked[thread * 16] = picked;
    }

    private void KeylessAcquireShare(LoadBalancer balancer, int thread)
    {
        long cpuStart = ThreadCpuTime.NowNanoseconds();
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerThread; i++)
        {
            if (balancer.TryAcquire(out EndpointLease lease))
            {
                picked = lease.Endpoint;
                lease.Dispose();
            }
        }

        _cpuNanoseconds[thread * 16] += ThreadCpuTime.NowNanoseconds() - cpuStart;
        _lastPicked[thread * 16] = picked;
    }

    private void KeyedPickShare(LoadBalancer balancer, int thread)
    {
        long cpuStart = ThreadCpuTime.NowNanoseconds();
        byte[][] keys = _keys;
        int offset = thread * (KeyPool.Size / 2);
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerThread; i++)
        {
            balancer.TryPick(keys[(offset + i) & KeyPool.Mask], out picked);
        }

        _cpuNanoseconds[thread * 16] += ThreadCpuTime.NowNanoseconds() - cpuStart;
        _lastPicked[thread * 16] = picked;
    }

    private void KeyedAcquireShare(LoadBalancer balancer, int thread)
    {
        long cpuStart = ThreadCpuTime.NowNanoseconds();
        byte[][] keys = _keys;
        int offset = thread * (KeyPool.Size / 2);
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerThread; i++)
        {
            if (balancer.TryAcquire(keys[(offset + i) & KeyPool.Mask], out EndpointLease lease))
            {
                picked = lease.Endpoint;
                lease.Dispose();
            }
        }

        _cpuNanoseconds[thread * 16] += ThreadCpuTime.NowNanoseconds() - cpuStart;
        _lastPicked[thread * 16] = picked;
    }
}
