using Xunit;

namespace LockFree.Balancing.Tests;

public sealed class RandomBalancerTests
{
    [Fact]
    public void Pick_Weights_DrawnInProportion()
    {
        RandomBalancer balancer = new(new RandomOptions { Seed = 1 });
        Endpoint heavy = new("10.0.0.1", 80, weight: 3);
        balancer.Update([heavy, new Endpoint("10.0.0.2", 80), new Endpoint("10.0.0.3", 80, weight: 0)]);

        int heavyPicks = Enumerable.Range(0, 40_000).Count(_ => balancer.Pick().Equals(heavy));

        // Expected 30,000; the standard deviation is about 87.
        Assert.InRange(heavyPicks, 29_500, 30_500);
    }

    [Fact]
    public void Pick_SameSeed_SameSequence()
    {
        Endpoint[] endpoints = TestEndpoints.Distinct(20, seed: 2);
        RandomBalancer first = new(new RandomOptions { Seed = 42 });
        RandomBalancer second = new(new RandomOptions { Seed = 42 });
        first.Update(endpoints);
        second.Update(endpoints);

        Assert.Equal(Enumerable.Range(0, 500).Select(_ => first.Pick()), Enumerable.Range(0, 500).Select(_ => second.Pick()));
    }

    [Fact]
    public void Pick_Unseeded_EveryEndpointDrawn()
    {
        RandomBalancer balancer = new();
        Endpoint[] endpoints = TestEndpoints.Distinct(8, seed: 3);
        balancer.Update(endpoints);

        HashSet<Endpoint> drawn = Enumerable.Range(0, 2000).Select(_ => balancer.Pick()).ToHashSet();

        Assert.Equal(endpoints.Length, drawn.Count);
    }
}
