using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Grpc.RingHash;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests.RingHash;

public sealed class RingHashRingTests
{
    [Theory]
    // Equal weights: ⌈(1/n)·min⌉/(1/n), then ⌈scale⌉.
    [InlineData(new long[] { 1 }, 1024, 4096, 1024, 1024)]
    [InlineData(new long[] { 1, 1, 1 }, 1024, 4096, 1026, 1026)]
    [InlineData(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, 1024, 4096, 1030, 1030)]
    // grpc-go's doc example: weights {3,3,4} and a ring of 7 give {a,a,b,b,c,c,c}.
    [InlineData(new long[] { 3, 3, 4 }, 7, 7, 7, 7)]
    // The smallest weight gets a whole number of entries: 1/108 of the ring must be ≥ 1.
    [InlineData(new long[] { 1, 100, 7 }, 1024, 4096, 1080, 1080)]
    // Capped by max.
    [InlineData(new long[] { 1, 10000 }, 1024, 4096, 4096, 4096)]
    public void Build_Weights_SizeFollowsGrpcGoArithmetic(long[] weights, long min, long max, long expectedSize, int expectedEntries)
    {
        var keys = Enumerable.Range(0, weights.Length).Select(i => "10.0.0." + (i + 1).ToString("000", System.Globalization.CultureInfo.InvariantCulture) + ":80").ToArray();

        var ring = RingHashRing.Build(keys, weights, min, max);

        Assert.Equal(expectedSize, ring.TargetSize);
        Assert.Equal(expectedEntries, ring.Count);
    }

    [Fact]
    public void Build_HundredEndpointsRingOfOne_TwoEntriesLikeGrpcGo()
    {
        // 100 × 0.01 sums to just above 1.0 in doubles, so grpc-go's loop emits one entry more than ⌈scale⌉.
        var keys = Enumerable.Range(0, 100).Select(i => "k" + i.ToString("000", System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        var ring = RingHashRing.Build(keys, Enumerable.Repeat(1L, 100).ToArray(), 1, 1);

        Assert.Equal(1, ring.TargetSize);
        Assert.Equal(2, ring.Count);
    }

    [Fact]
    public void Build_WeightsThreeThreeFour_EntriesProportional()
    {
        var ring = RingHashRing.Build(["a", "b", "c"], [3, 3, 4], 10, 10);

        var counts = new int[3];
        for (var i = 0; i < ring.Count; i++)
        {
            counts[ring.EndpointAt(i)]++;
        }

        Assert.Equal([3, 3, 4], counts);
    }

    [Fact]
    public void Build_Entries_SortedByHash()
    {
        var ring = RingHashRing.Build(["a:1", "b:1", "c:1"], [1, 1, 1], 1024, 4096);

        for (var i = 1; i < ring.Count; i++)
        {
            Assert.True(ring.HashAt(i - 1) <= ring.HashAt(i));
        }
    }

    [Fact]
    public void FindIndex_ExactAboveAndPastEnd_LowerBoundWithWrap()
    {
        var ring = RingHashRing.Build(["a:1", "b:1"], [1, 1], 16, 16);

        Assert.Equal(0, ring.FindIndex(0));
        Assert.Equal(3, ring.FindIndex(ring.HashAt(3)));
        Assert.Equal(4, ring.FindIndex(ring.HashAt(3) + 1));
        Assert.Equal(0, ring.FindIndex(ring.HashAt(ring.Count - 1) + 1));
        Assert.Equal(0, ring.FindIndex(ulong.MaxValue));
    }

    [Fact]
    public void Build_NoEndpoints_Throws()
    {
        Assert.Throws<ArgumentException>(() => RingHashRing.Build([], [], 1024, 4096));
    }

    [Theory]
    [InlineData("10.0.0.1", 8080, "10.0.0.1:8080")]
    [InlineData("2001:db8::1", 443, "[2001:db8::1]:443")]
    [InlineData("[2001:db8::1]", 443, "[2001:db8::1]:443")]
    [InlineData("pod-0.svc", 50051, "pod-0.svc:50051")]
    public void Format_Address_GoJoinHostPortForm(string host, int port, string expected)
    {
        Assert.Equal(expected, RingHashEndpointKey.Format(new System.Net.DnsEndPoint(host, port)));
    }

    [Fact]
    public void HashKeyAndWeight_Attributes_ReadOrDefault()
    {
        var plain = new BalancerAddress("10.0.0.1", 80);
        var keyed = new BalancerAddress("10.0.0.2", 80);
        keyed.Attributes.Set(RingHashAttributes.HashKey, "web-0");
        keyed.Attributes.Set(RingHashAttributes.Weight, 5);
        var emptyKeyZeroWeight = new BalancerAddress("10.0.0.3", 80);
        emptyKeyZeroWeight.Attributes.Set(RingHashAttributes.HashKey, "");
        emptyKeyZeroWeight.Attributes.Set(RingHashAttributes.Weight, 0);

        Assert.Equal(("10.0.0.1:80", 1L), (RingHashEndpointKey.HashKey(plain), RingHashEndpointKey.Weight(plain)));
        Assert.Equal(("web-0", 5L), (RingHashEndpointKey.HashKey(keyed), RingHashEndpointKey.Weight(keyed)));
        Assert.Equal(("10.0.0.3:80", 1L), (RingHashEndpointKey.HashKey(emptyKeyZeroWeight), RingHashEndpointKey.Weight(emptyKeyZeroWeight)));
    }

    [Fact]
    public void Merge_DuplicateAddresses_WeightsAddedAndRingOrder()
    {
        var a = new BalancerAddress("10.0.0.2", 80);
        a.Attributes.Set(RingHashAttributes.Weight, 2);
        var again = new BalancerAddress("10.0.0.2", 80);
        again.Attributes.Set(RingHashAttributes.Weight, 3);
        var keyed = new BalancerAddress("10.0.0.9", 80);
        keyed.Attributes.Set(RingHashAttributes.HashKey, "0-first");

        var merged = RingHashEndpointKey.Merge([a, new BalancerAddress("10.0.0.1", 80), again, keyed]);

        Assert.Equal(["0-first", "10.0.0.1:80", "10.0.0.2:80"], merged.Select(e => e.HashKey));
        Assert.Equal([1L, 1L, 5L], merged.Select(e => e.Weight));
    }
}
