using System.Text;
using Xunit;

namespace LockFree.Balancing.Tests;

public sealed class ConsistentHashBalancerTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(ConsistentHashOptions.MaxVirtualNodesPerEndpoint + 1)]
    public void Constructor_VirtualNodesOutOfRange_ThrowsWithAcceptedRange(int virtualNodes)
    {
        ArgumentException error = Assert.Throws<ArgumentException>(
            () => new ConsistentHashBalancer(new ConsistentHashOptions { VirtualNodesPerEndpoint = virtualNodes }));

        Assert.Contains("between 1 and 10000", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    [InlineData(1.0004)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(101.0)]
    public void Constructor_LoadFactorNotAboveOne_ThrowsWithAcceptedRange(double factor)
    {
        ArgumentException error = Assert.Throws<ArgumentException>(
            () => new ConsistentHashBalancer(new ConsistentHashOptions { LoadFactor = factor }));

        Assert.Contains("must be above 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_LoadFactor_IsAppliedInThousandths()
    {
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { LoadFactor = 1.2504 });

        Assert.Equal(1.25, balancer.LoadFactor);
        Assert.Null(new ConsistentHashBalancer().LoadFactor);
    }

    [Fact]
    public void Pick_TextKeyAndItsUtf8Bytes_PickTheSameEndpoint()
    {
        ConsistentHashBalancer balancer = new();
        balancer.Update(TestEndpoints.Distinct(50, seed: 1));

        foreach (string key in TestEndpoints.Keys(500, seed: 2).Append("ünïcødé-✓").Append(new string('x', 1000)))
        {
            Assert.Same(balancer.Pick(key), balancer.Pick(Encoding.UTF8.GetBytes(key)));
        }
    }

    [Fact]
    public void Pick_SameKey_SameEndpointAcrossInstancesAndInputOrder()
    {
        Endpoint[] endpoints = TestEndpoints.Distinct(30, seed: 4);
        ConsistentHashBalancer forward = new();
        ConsistentHashBalancer backward = new();
        forward.Update(endpoints);
        backward.Update(endpoints.Reverse());

        foreach (string key in TestEndpoints.Keys(1000, seed: 5))
        {
            Assert.Equal(forward.Pick(key), backward.Pick(key));
        }
    }

    [Fact]
    public void Pick_Weights_ScaleKeyShare()
    {
        ConsistentHashBalancer balancer = new();
        Endpoint heavy = new("10.0.0.1", 80, weight: 3);
        Endpoint light = new("10.0.0.2", 80, weight: 1);
        balancer.Update([heavy, light]);

        string[] keys = TestEndpoints.Keys(40_000, seed: 6);
        double heavyShare = keys.Count(k => balancer.Pick(k).Equals(heavy)) / (double)keys.Length;

        Assert.InRange(heavyShare, 0.70, 0.80);
    }

    [Fact]
    public void Pick_WeightZero_NeverPicked()
    {
        ConsistentHashBalancer balancer = new();
        Endpoint drained = new("10.0.0.1", 80, weight: 0);
        balancer.Update([drained, new Endpoint("10.0.0.2", 80), new Endpoint("10.0.0.3", 80)]);

        Assert.DoesNotContain(TestEndpoints.Keys(5000, seed: 7), k => balancer.Pick(k).Equals(drained));
    }

    [Fact]
    public void PickWithoutKey_SpreadsByRingShare()
    {
        ConsistentHashBalancer balancer = new();
        Endpoint[] endpoints = TestEndpoints.Distinct(4, seed: 8);
        balancer.Update(endpoints);

        Dictionary<Endpoint, int> counts = endpoints.ToDictionary(e => e, _ => 0);
        for (int i = 0; i < 40_000; i++)
        {
            counts[balancer.Pick()]++;
        }

        Assert.All(counts.Values, count => Assert.InRange(count, 6_000, 14_000));
    }

    [Fact]
    public void Acquire_Bounded_NoEndpointReachesMoreThanItsCapacity()
    {
        // One hot key: with c = 1.25 and 10 endpoints, 100 concurrent requests for it may hold at most
        // ⌈1.25 · 100 / 10⌉ = 13 on any endpoint, where plain consistent hashing would put all 100 on one.
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { LoadFactor = 1.25 });
        Endpoint[] endpoints = TestEndpoints.Distinct(10, seed: 9);
        balancer.Update(endpoints);

        EndpointLease[] leases = new EndpointLease[100];
        for (int i = 0; i < leases.Length; i++)
        {
            leases[i] = balancer.Acquire("hot-key");
        }

        int[] loads = endpoints.Select(e => balancer.InFlightOf(e.Key)).ToArray();
        Assert.Equal(100, loads.Sum());
        Assert.True(loads.Max() <= 13, $"peak load {loads.Max()} exceeds the capacity 13");
        Assert.Equal(balancer.Pick("hot-key").Key, leases[0].Endpoint.Key);

        for (int i = 0; i < leases.Length; i++)
        {
            leases[i].Dispose();
        }

        Assert.All(endpoints, e => Assert.Equal(0, balancer.InFlightOf(e.Key)));
    }

    [Fact]
    public void Acquire_BoundedOverflow_SpreadsOverManyEndpointsInsteadOfTheRingNeighbour()
    {
        // Many hot keys on a ring of 20: if overflow walked the ring, each full endpoint's spill would
        // land on its successor. Key-seeded probing spreads the spill of one home over many endpoints.
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { LoadFactor = 1.25 });
        Endpoint[] endpoints = TestEndpoints.Distinct(20, seed: 10);
        balancer.Update(endpoints);
        Endpoint home = balancer.Pick("seed-key");
        string[] sameHomeKeys = TestEndpoints.Keys(50_000, seed: 11).Where(k => balancer.Pick(k).Equals(home)).Take(400).ToArray();

        List<EndpointLease> leases = [];
        HashSet<string> spillTargets = [];
        foreach (string key in sameHomeKeys)
        {
            EndpointLease lease = balancer.Acquire(key);
            if (!lease.Endpoint.Equals(home))
            {
                spillTargets.Add(lease.Endpoint.Key);
            }

            leases.Add(lease);
        }

        Assert.True(spillTargets.Count >= 10, $"spill from one home reached only {spillTargets.Count} endpoints");
        leases.ForEach(l => l.Dispose());
    }
}
