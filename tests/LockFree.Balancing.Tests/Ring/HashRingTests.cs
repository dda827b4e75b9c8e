using FsCheck.Xunit;
using LockFree.Balancing.Ring;
using LockFree.Balancing.Tests.Properties;
using Xunit;

namespace LockFree.Balancing.Tests.Ring;

public sealed class HashRingTests
{
    // Replay: the seed the Check.One version used; 60 cases as before.
    [Property(Replay = "21," + Replays.GoldenGamma, MaxTest = 60, Arbitrary = new[] { typeof(RingSize) })]
    public bool FindPosition_AnyPoint_EqualsPlainBinarySearchSuccessor(RingSize size)
    {
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { VirtualNodesPerEndpoint = size.VirtualNodes });
        balancer.Update(TestEndpoints.Distinct(size.Endpoints, seed: size.Endpoints * 31 + size.VirtualNodes));
        HashRing ring = balancer.CurrentRing;
        uint[] points = ring.Points.ToArray();
        Random random = new(size.Endpoints);
        uint[] probes = [0, uint.MaxValue, points[0], points[^1], points[^1] + 1, .. Enumerable.Range(0, 500).Select(_ => (uint)random.NextInt64(0, 1L << 32))];
        foreach (uint probe in probes.Concat(points.Take(50)).Concat(points.Take(50).Select(p => p - 1)))
        {
            if (ring.FindPosition(probe) != ReferenceSuccessor(points, probe))
            {
                return false;
            }
        }

        return true;
    }

    // The ring is a function of the set only: incremental reuse must give exactly the fresh ring.
    // Replay: the seed the Check.One version used; 40 cases as before.
    [Property(Replay = "22," + Replays.GoldenGamma, MaxTest = 40, Arbitrary = new[] { typeof(Seed) })]
    public bool Build_AfterAnySequenceOfUpdates_EqualsFreshBuildOfTheSameSet(Seed seed)
    {
        Random random = new(seed.Value);
        Endpoint[] universe = TestEndpoints.Distinct(40, seed.Value);
        ConsistentHashBalancer incremental = new(new ConsistentHashOptions { VirtualNodesPerEndpoint = 50 });
        for (int step = 0; step < 8; step++)
        {
            Endpoint[] set = universe.Where(_ => random.Next(3) > 0).Select(e => e.WithWeight(random.Next(0, 4))).ToArray();
            incremental.Update(set);
            ConsistentHashBalancer fresh = new(new ConsistentHashOptions { VirtualNodesPerEndpoint = 50 });
            fresh.Update(set);
            if (!incremental.CurrentRing.Points.SequenceEqual(fresh.CurrentRing.Points)
                || !incremental.CurrentRing.Owners.SequenceEqual(fresh.CurrentRing.Owners))
            {
                return false;
            }
        }

        return true;
    }

    [Fact]
    public void Build_CollidingPoints_OrderedByOwnerSoEveryClientAgrees()
    {
        // 400,000 points make 32-bit collisions near certain; equal points must be ordered by owner index.
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { VirtualNodesPerEndpoint = 400 });
        balancer.Update(TestEndpoints.Distinct(1000, seed: 23));
        HashRing ring = balancer.CurrentRing;

        int collisions = 0;
        for (int i = 1; i < ring.Count; i++)
        {
            Assert.True(ring.Points[i - 1] <= ring.Points[i]);
            if (ring.Points[i - 1] == ring.Points[i])
            {
                collisions++;
                Assert.True(ring.Owners[i - 1] <= ring.Owners[i]);
            }
        }

        Assert.True(collisions > 0, "expected at least one 32-bit collision among 400,000 points");
    }

    [Fact]
    public void Build_Points_AreExactlyTheDocumentedReplicaPoints()
    {
        // docs/design.md: replica r of an endpoint is the high 32 bits of XXH3-64(UTF-8 key ‖ r as LE int32),
        // for r in 0 .. weight × V − 1. Another language's client relies on exactly this.
        Endpoint[] endpoints = [new Endpoint("10.0.0.1", 80), new Endpoint("fd00::1", 443, weight: 2), new Endpoint("web-0.web", 8080, weight: 0)];
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { VirtualNodesPerEndpoint = 7 });
        balancer.Update(endpoints);

        List<(uint, string)> expected = [];
        foreach (Endpoint endpoint in endpoints)
        {
            for (int replica = 0; replica < endpoint.Weight * 7; replica++)
            {
                expected.Add((HashRing.ReplicaPoint(System.Text.Encoding.UTF8.GetBytes(endpoint.Key), replica), endpoint.Key));
            }
        }

        HashRing ring = balancer.CurrentRing;
        List<(uint, string)> actual = [];
        for (int i = 0; i < ring.Count; i++)
        {
            actual.Add((ring.Points[i], balancer.CurrentSnapshot.Endpoints[ring.Owners[i]].Key));
        }

        Assert.Equal(expected.OrderBy(e => e.Item1).ThenBy(e => e.Item2, StringComparer.Ordinal), actual);
    }

    [Fact]
    public void Build_TooManyPoints_ThrowsArgumentExceptionAndKeepsSet()
    {
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { VirtualNodesPerEndpoint = 10_000 });
        balancer.Update([new Endpoint("10.0.0.1", 80)]);

        ArgumentException error = Assert.Throws<ArgumentException>(
            () => balancer.Update(TestEndpoints.Distinct(1000, seed: 24).Select(e => e.WithWeight(1))));

        Assert.Contains("at most", error.Message, StringComparison.Ordinal);
        Assert.Single(balancer.Endpoints);
    }

    private static int ReferenceSuccessor(uint[] points, uint probe)
    {
        for (int i = 0; i < points.Length; i++)
        {
            if (points[i] >= probe)
            {
                return i;
            }
        }

        return 0;
    }
}
