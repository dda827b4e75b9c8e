using FsCheck.Xunit;
using LockFree.Balancing.Ring;
using LockFree.Balancing.Tests.Properties;
using Xunit;

namespace LockFree.Balancing.Tests.Ring;

/// <summary>
/// The bucket-index lookup (top bits of the point → a bucket of the sorted points) must answer exactly what the plain
/// definition answers: the owner of the first point at or after the probe in the sorted points, found by
/// binary search, wrapping to the first point. Any difference would move keys.
/// </summary>
public sealed class HashRingLookupTests
{
    // Replay: the seed the Check.One version used; 80 cases as before.
    [Property(Replay = "41," + Replays.GoldenGamma, MaxTest = 80, Arbitrary = new[] { typeof(RingShape), typeof(RandomPoints) })]
    public bool OwnerOf_RandomHashesAndEdges_EqualsBinarySearchOverPointsAndOwners(RingShape shape, RandomPoints randomPoints)
    {
        HashRing ring = BuildRing(shape.Endpoints, shape.VirtualNodes, shape.ZeroWeightEvery, shape.Seed);
        if (ring.Count == 0)
        {
            return true;
        }

        return Probes(ring).Concat(randomPoints.Values).All(point => ring.OwnerOf(point) == ReferenceOwner(ring, point)
            && ring.FindPosition(point) == ReferencePosition(ring.Points, point));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 160)]
    [InlineData(10, 160)]
    [InlineData(100, 160)]
    [InlineData(1000, 160)]
    [InlineData(3, 10_000)]
    public void OwnerOf_EveryPointNeighbourAndBucketEdge_EqualsBinarySearch(int endpoints, int virtualNodes)
    {
        // Exhaustive over the places where a lookup can go wrong: each point, one below and one above it
        // (the successor changes there), the first and last value of every bucket, 0 and the top (wrap-around).
        HashRing ring = BuildRing(endpoints, virtualNodes, zeroWeightEvery: 0, seed: endpoints);
        int mismatches = 0;
        foreach (uint point in Probes(ring))
        {
            if (ring.OwnerOf(point) != ReferenceOwner(ring, point))
            {
                mismatches++;
            }
        }

        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void OwnerOf_CollidingPoints_IsTheFirstOwnerInKeyOrder()
    {
        // 400,000 points: 32-bit collisions are near certain, and the first of equal points (the lower owner) must win.
        HashRing ring = BuildRing(1000, 400, zeroWeightEvery: 0, seed: 23);
        ReadOnlySpan<uint> points = ring.Points;
        int collisions = 0;
        for (int i = 1; i < points.Length; i++)
        {
            if (points[i] == points[i - 1])
            {
                collisions++;
                int first = i - 1;
                while (first > 0 && points[first - 1] == points[i])
                {
                    first--;
                }

                Assert.Equal(ring.Owners[first], ring.OwnerOf(points[i]));
            }
        }

        Assert.True(collisions > 0);
    }

    [Fact]
    public void OwnerOf_OwnerIndicesWiderThanThePointCount_StillFitAndAnswer()
    {
        // One point owned by the last of 1,000 endpoints in key order (the others have weight 0): the owner index is
        // far larger than the point count.
        Endpoint[] all = TestEndpoints.Distinct(1000, seed: 5);
        string last = all.Select(e => e.Key).Max(StringComparer.Ordinal)!;
        Endpoint[] endpoints = [.. all.Select(e => e.WithWeight(e.Key == last ? 1 : 0))];
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { VirtualNodesPerEndpoint = 1 });
        balancer.Update(endpoints);
        HashRing ring = balancer.CurrentRing;

        Assert.Equal(1, ring.Count);
        Assert.Equal(999, ring.Owners[0]);
        Assert.All(Probes(ring), point => Assert.Equal(ring.Owners[0], ring.OwnerOf(point)));
    }

    private static HashRing BuildRing(int endpointCount, int virtualNodes, int zeroWeightEvery, int seed)
    {
        Endpoint[] endpoints = [.. TestEndpoints.Distinct(endpointCount, seed).Select((e, i) => zeroWeightEvery > 0 && i % zeroWeightEvery == 1 ? e.WithWeight(0) : e)];
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { VirtualNodesPerEndpoint = virtualNodes });
        balancer.Update(endpoints);
        return balancer.CurrentRing;
    }

    private static IEnumerable<uint> Probes(HashRing ring)
    {
        uint[] points = ring.Points.ToArray();
        yield return 0;
        yield return uint.MaxValue;
        foreach (uint point in points)
        {
            yield return point - 1;
            yield return point;
            yield return point + 1;
        }

        int shift = 32 - ring.BucketBits;
        for (long bucket = 0; bucket < 1L << ring.BucketBits; bucket++)
        {
            yield return (uint)(bucket << shift);
            yield return (uint)(((bucket + 1) << shift) - 1);
        }
    }

    // The definition: lower bound by binary search over the sorted points, wrapping past the last one.
    private static int ReferencePosition(ReadOnlySpan<uint> points, uint point)
    {
        int low = 0;
        int high = points.Length;
        while (low < high)
        {
            int middle = (int)(((uint)low + (uint)high) >> 1);
            if (points[middle] < point)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low == points.Length ? 0 : low;
    }

    private static int ReferenceOwner(HashRing ring, uint point) => ring.Owners[ReferencePosition(ring.Points, point)];
}
