using Xunit;

namespace LockFree.Balancing.Tests;

public sealed class RoundRobinBalancerTests
{
    [Fact]
    public void Pick_CyclesThroughEndpointsInKeyOrder()
    {
        RoundRobinBalancer balancer = new();
        balancer.Update(TestEndpoints.Sequential(3));

        string[] picks = Enumerable.Range(0, 7).Select(_ => balancer.Pick().Key).ToArray();

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080", "10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080", "10.0.0.1:8080"], picks);
    }

    [Fact]
    public void Pick_ManyThreads_FloorOrCeilingOfItsShareUntilACollision_OneTurnPerCellAfter()
    {
        // Threads that never collided on the cursor shared one exact rotation: floor or ceiling of the share. Once
        // two collided, the cursor spread over per-processor cells: one turn per cell off at most.
        RoundRobinBalancer balancer = new();
        Endpoint[] endpoints = TestEndpoints.Sequential(7);
        balancer.Update(endpoints);
        (Dictionary<string, int>[] counts, long total) = PickOnEveryCore(balancer, endpoints);
        int slack = balancer.CursorIsSpread ? LockFree.Balancing.Load.ProcessorStripes.Count : 0;
        foreach (Endpoint endpoint in endpoints)
        {
            int picked = counts.Sum(c => c[endpoint.Key]);
            Assert.InRange(picked, (total / endpoints.Length) - slack, ((total + endpoints.Length - 1) / endpoints.Length) + slack);
        }
    }

    [Fact]
    public void Pick_CursorSpreadOverProcessors_EveryEndpointWithinOneTurnPerCellOfItsShare()
    {
        // After two threads have collided on the cursor, each processor's cell keeps its own exact rotation: over all
        // threads an endpoint is off its share by at most one turn per cell.
        RoundRobinBalancer balancer = new();
        Endpoint[] endpoints = TestEndpoints.Sequential(7);
        balancer.Update(endpoints);
        balancer.SpreadCounters();
        (Dictionary<string, int>[] counts, long total) = PickOnEveryCore(balancer, endpoints);
        int cells = LockFree.Balancing.Load.ProcessorStripes.Count;
        foreach (Endpoint endpoint in endpoints)
        {
            int picked = counts.Sum(c => c[endpoint.Key]);
            Assert.InRange(picked, (total / endpoints.Length) - cells, ((total + endpoints.Length - 1) / endpoints.Length) + cells);
        }
    }

    [Fact]
    public void Pick_SkipsWeightZeroEndpoints()
    {
        RoundRobinBalancer balancer = new();
        balancer.Update([new Endpoint("10.0.0.1", 80, weight: 0), new Endpoint("10.0.0.2", 80), new Endpoint("10.0.0.3", 80)]);

        HashSet<string> picked = Enumerable.Range(0, 10).Select(_ => balancer.Pick().Key).ToHashSet();

        Assert.Equal(["10.0.0.2:80", "10.0.0.3:80"], picked.Order());
    }

    [Fact]
    public void Pick_Weights1ToN_HonouredExactlyOverEveryCycle()
    {
        RoundRobinBalancer balancer = new();
        Endpoint[] endpoints = TestEndpoints.Sequential(8).Select((e, i) => e.WithWeight(i + 1)).ToArray();
        balancer.Update(endpoints);
        int cycle = endpoints.Sum(e => e.Weight);

        for (int round = 0; round < 3; round++)
        {
            Dictionary<Endpoint, int> counts = Enumerable.Range(0, cycle).Select(_ => balancer.Pick()).GroupBy(e => e).ToDictionary(g => g.Key, g => g.Count());
            Assert.All(endpoints, e => Assert.Equal(e.Weight, counts[e]));
        }
    }

    [Fact]
    public void Pick_Weights_InterleavedNotBunched()
    {
        RoundRobinBalancer balancer = new();
        balancer.Update([new Endpoint("10.0.0.1", 80, weight: 3), new Endpoint("10.0.0.2", 80), new Endpoint("10.0.0.3", 80)]);

        string order = string.Concat(Enumerable.Range(0, 10).Select(_ => (char)('A' + balancer.Pick().Host[^1] - '1')));

        Assert.Equal("AABCAAABCA", order);
    }

    [Fact]
    public void Pick_CommonWeightFactor_ReducedToShortCycle()
    {
        RoundRobinBalancer balancer = new();
        balancer.Update([new Endpoint("10.0.0.1", 80, weight: 200), new Endpoint("10.0.0.2", 80, weight: 100)]);

        // Weights 200 and 100 reduce to 2 and 1: a cycle of 3 turns (due at 1/4, 1/2, 3/4), not 300.
        string[] picks = Enumerable.Range(0, 6).Select(_ => balancer.Pick().Key).ToArray();
        Assert.Equal(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.1:80", "10.0.0.1:80", "10.0.0.2:80", "10.0.0.1:80"], picks);
    }

    [Fact]
    public void TryPick_KeyIsIgnored()
    {
        RoundRobinBalancer balancer = new();
        balancer.Update(TestEndpoints.Sequential(2));

        Assert.NotEqual(balancer.Pick("same"), balancer.Pick("same"));
    }

    // 100,003 picks on each of max(2, cores) threads at once; the counts per thread and the total.
    private static (Dictionary<string, int>[] Counts, long Total) PickOnEveryCore(RoundRobinBalancer balancer, Endpoint[] endpoints)
    {
        const int PicksPerThread = 100_003;
        int threads = Math.Max(2, Environment.ProcessorCount);
        Dictionary<string, int>[] counts = new Dictionary<string, int>[threads];
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            Dictionary<string, int> local = endpoints.ToDictionary(e => e.Key, _ => 0);
            for (int i = 0; i < PicksPerThread; i++)
            {
                local[balancer.Pick().Key]++;
            }

            counts[t] = local;
        });

        return (counts, (long)PicksPerThread * threads);
    }
}
