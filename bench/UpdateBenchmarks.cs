using BenchmarkDotNet.Attributes;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// The control plane: what an endpoint-set change costs the thread that publishes it, for a
/// consistent-hash balancer with V = 160 at N = 10, 100 and 1000. Targets (issue 2): rebuilding
/// N = 1000 ≤ 10 ms; adding or removing one endpoint ≤ 2 ms.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="AddOne"/> and <see cref="RemoveOne"/> change state, so each needs a fresh balancer
/// holding exactly N endpoints for every measured operation.
/// Design: an <c>[IterationSetup]</c> targeted at each of them builds <see cref="BalancersPerIteration"/>
/// such balancers (setup time is not measured), and the benchmark applies the one change to each of
/// them (<c>OperationsPerInvoke</c> = <see cref="BalancersPerIteration"/>), so the reported time is
/// exactly one N → N + 1 add or one N → N − 1 remove, including building and publishing the new
/// snapshot. BenchmarkDotNet runs benchmarks that have an iteration setup with one invocation per
/// iteration; the methods throw if a change turns out to be a no-op, so a second invocation on
/// already-changed balancers could never be reported as a fast update. <see cref="Rebuild"/> (the
/// baseline) builds <see cref="BalancersPerIteration"/> balancers per call under the same iteration
/// regime, so all three share one job and the ratio column reads "this change costs x rebuilds".
/// </para>
/// <para>
/// The balancers of a batch were built just before, so the previous ring is warm in cache only for
/// the last few: closer to a real update (rare, cold) than a hot loop would be.
/// </para>
/// </remarks>
public class UpdateBenchmarks : ISmokeChecked
{
    /// <summary>Balancers changed per measured call.</summary>
    public const int BalancersPerIteration = 32;

    private Endpoint[] _endpoints = [];
    private Endpoint _extra = null!;
    private ConsistentHashBalancer[] _batch = [];
    private LoadBalancer[] _built = [];

    /// <summary>Endpoints in the set before the change.</summary>
    [Params(10, 100, 1000)]
    public int N { get; set; }

    /// <summary>Creates the N endpoints and the one to add.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _endpoints = TestCluster.Endpoints(N);
        _extra = TestCluster.Endpoints(1, first: N)[0];
        WarmUpTiering();
    }

    // With one invocation per iteration and few warm-up iterations, the update path would be measured
    // partly as tier-0 code. Run every path often enough to be promoted (30 calls), then give the
    // background JIT time to install the optimized code, twice (OSR'd loops tier up on a later round).
    private static void WarmUpTiering()
    {
        Endpoint[] small = TestCluster.Endpoints(10);
        Endpoint extra = TestCluster.Endpoints(1, first: 10)[0];
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < 64; i++)
            {
                ConsistentHashBalancer balancer = TestCluster.Plain(small);
                balancer.Add(extra);
                balancer.Remove(small[i % small.Length]);
            }

            Thread.Sleep(250);
        }
    }

    /// <summary>Builds the balancers <see cref="AddOne"/> and <see cref="RemoveOne"/> will change.</summary>
    [IterationSetup(Targets = [nameof(AddOne), nameof(RemoveOne)])]
    public void PrepareBatch()
    {
        _batch = new ConsistentHashBalancer[BalancersPerIteration];
        for (int i = 0; i < _batch.Length; i++)
        {
            _batch[i] = TestCluster.Plain(_endpoints);
        }
    }

    /// <summary>Gives <see cref="Rebuild"/> empty slots to keep its balancers alive until the iteration ends, as the batches of the others are.</summary>
    [IterationSetup(Targets = [nameof(Rebuild), nameof(MaglevBuild)])]
    public void PrepareRebuild() => _built = new LoadBalancer[BalancersPerIteration];

    /// <summary>A new balancer and one <see cref="LoadBalancer.Update"/> with all N endpoints: hashes N × 160 points and builds the index.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = BalancersPerIteration)]
    public LoadBalancer Rebuild()
    {
        for (int i = 0; i < _built.Length; i++)
        {
            _built[i] = TestCluster.Plain(_endpoints);
        }

        return _built[^1];
    }

    /// <summary>A new Maglev balancer (M = 65537) and one <see cref="LoadBalancer.Update"/> with all N endpoints: the whole table is filled.</summary>
    [Benchmark(OperationsPerInvoke = BalancersPerIteration)]
    public LoadBalancer MaglevBuild()
    {
        for (int i = 0; i < _built.Length; i++)
        {
            MaglevBalancer balancer = new();
            balancer.Update(_endpoints);
            _built[i] = balancer;
        }

        return _built[^1];
    }

    /// <summary>One <see cref="LoadBalancer.Add"/> of a new endpoint to a balancer holding N (keeps the N × 160 existing points, hashes 160).</summary>
    [Benchmark(OperationsPerInvoke = BalancersPerIteration)]
    public LoadBalancer AddOne()
    {
        ConsistentHashBalancer last = null!;
        foreach (ConsistentHashBalancer balancer in _batch)
        {
            if (!balancer.Add(_extra))
            {
                throw new InvalidOperationException("AddOne ran on a balancer that already had the endpoint: the iteration setup did not run.");
            }

            last = balancer;
        }

        return last;
    }

    /// <summary>One <see cref="LoadBalancer.Remove"/> of an endpoint from a balancer holding N.</summary>
    [Benchmark(OperationsPerInvoke = BalancersPerIteration)]
    public LoadBalancer RemoveOne()
    {
        Endpoint leaving = _endpoints[N / 2];
        ConsistentHashBalancer last = null!;
        foreach (ConsistentHashBalancer balancer in _batch)
        {
            if (!balancer.Remove(leaving))
            {
                throw new InvalidOperationException("RemoveOne ran on a balancer that no longer had the endpoint: the iteration setup did not run.");
            }

            last = balancer;
        }

        return last;
    }

    void ISmokeChecked.CheckResult(string benchmark, object? result)
    {
        int expected = benchmark switch
        {
            nameof(AddOne) => N + 1,
            nameof(RemoveOne) => N - 1,
            _ => N,
        };

        if (result is not LoadBalancer balancer || balancer.Endpoints.Count != expected)
        {
            throw new InvalidOperationException($"{benchmark} left {(result as LoadBalancer)?.Endpoints.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no balancer"}; expected {expected} endpoints.");
        }

        if (!balancer.TryPick("smoke"u8, out _))
        {
            throw new InvalidOperationException($"{benchmark} left a balancer that cannot pick.");
        }
    }

    void ISmokeChecked.CheckAfterCalls(string benchmark)
    {
    }
}
