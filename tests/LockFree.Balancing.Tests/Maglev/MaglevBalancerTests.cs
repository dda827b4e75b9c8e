using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using LockFree.Balancing.Maglev;
using LockFree.Balancing.Tests.Properties;
using Xunit;
using Xunit.Abstractions;

namespace LockFree.Balancing.Tests.Maglev;

public sealed class MaglevBalancerTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(65536)]
    [InlineData(1)]
    [InlineData(-7)]
    [InlineData(16_777_289)]
    public void Constructor_TableSizeNotAcceptedPrime_ThrowsWithAcceptedRange(int size)
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() => new MaglevBalancer(new MaglevOptions { TableSize = size }));

        Assert.Contains("must be a prime", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Update_MoreEndpointsThanSlots_ThrowsAndKeepsCurrentSet()
    {
        MaglevBalancer balancer = new(new MaglevOptions { TableSize = 7 });
        balancer.Update(TestEndpoints.Distinct(3, seed: 1));

        ArgumentException error = Assert.Throws<ArgumentException>(() => balancer.Update(TestEndpoints.Distinct(7, seed: 2)));

        Assert.Contains("cannot hold 7 endpoints", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, balancer.Endpoints.Count);
    }

    // One property over sets of 10, 100 or 500 endpoints (the bound is the same for all three), folded into the
    // generator. It was three [Theory] rows of 10 cases seeded 10, 100 and 500; now one run from seed 10 whose 45
    // cases hold at least 10 sets of each size (11 of 10, 20 of 100, 14 of 500; the output collects them).
    [Property(Replay = "10," + Replays.GoldenGamma, MaxTest = 45, Arbitrary = new[] { typeof(Sets) })]
    public Property Table_M65537_PeakToAverageAtMost1Point02(EndpointSet set)
    {
        MaglevBalancer balancer = new();
        balancer.Update(set.Endpoints);
        int[] slotsPerEndpoint = SlotCounts(balancer.CurrentTable, set.Count);
        double ratio = slotsPerEndpoint.Max() / ((double)MaglevTable.DefaultSize / set.Count);
        return (ratio <= 1.02 && slotsPerEndpoint.Min() > 0).Label($"peak/average {ratio:F4}, fewest slots {slotsPerEndpoint.Min()}").Collect($"N={set.Count}");
    }

    [Fact]
    public void Table_Weights_SharesSlotsInProportion()
    {
        MaglevBalancer balancer = new();
        Endpoint[] endpoints = [.. TestEndpoints.Distinct(9, seed: 3), new Endpoint("10.250.0.1", 80, weight: 3), new Endpoint("10.250.0.2", 80, weight: 0)];
        balancer.Update(endpoints);

        int[] slots = SlotCounts(balancer.CurrentTable, endpoints.Length);
        Endpoint[] ordered = balancer.CurrentSnapshot.Endpoints;
        double unit = MaglevTable.DefaultSize / 12.0;
        for (int i = 0; i < ordered.Length; i++)
        {
            Assert.InRange(slots[i], ordered[i].Weight * unit * 0.98, (ordered[i].Weight * unit * 1.02) + 1);
        }
    }

    // Replay: the seed the Check.One version used; 30 cases as before.
    [Property(Replay = "4," + Replays.GoldenGamma, MaxTest = 30, Arbitrary = new[] { typeof(Seed) })]
    public bool Table_AnyInputOrder_IsIdentical(Seed seed)
    {
        Endpoint[] endpoints = TestEndpoints.Distinct(50, seed.Value).Select((e, i) => e.WithWeight(1 + (i % 3))).ToArray();
        MaglevBalancer forward = new(new MaglevOptions { TableSize = 5003 });
        MaglevBalancer shuffled = new(new MaglevOptions { TableSize = 5003 });
        forward.Update(endpoints);
        shuffled.Update(endpoints.OrderBy(_ => new Random(seed.Value).Next()).Reverse());
        return forward.CurrentTable.Slots.SequenceEqual(shuffled.CurrentTable.Slots);
    }

    [Theory]
    [InlineData(10, 0.0025, 0.0035)]
    [InlineData(100, 0.006, 0.007)]
    [InlineData(500, 0.0095, 0.010)]
    public void Remove_OneEndpoint_MovesItsKeysPlusFewOthers(int endpointCount, double maxMeanExtra, double maxWorstExtra)
    {
        // Maglev trades some disruption for balance: beyond the removed endpoint's own slots, a small
        // share of the others' slots changes owner. The bound is what docs/algorithms.md documents.
        // Why a [Theory] and not a [Property]: the mean bound is over all cases of a row, and a [Property] method
        // sees one case at a time (FsCheck.Xunit has no after-all-cases hook); the bounds also differ per N.
        List<double> extra = [];
        SeededProperty.Check(
            Prop.ForAll(SeededProperty.EndpointSets(endpointCount), Gen.Choose(0, endpointCount - 1).ToArbitrary(), (endpoints, removedIndex) =>
            {
                MaglevBalancer balancer = new();
                balancer.Update(endpoints);
                int[] before = [.. balancer.CurrentTable.Slots];
                Endpoint[] beforeEndpoints = balancer.CurrentSnapshot.Endpoints;
                Endpoint removed = endpoints[removedIndex];
                balancer.Remove(removed);
                int[] after = [.. balancer.CurrentTable.Slots];
                Endpoint[] afterEndpoints = balancer.CurrentSnapshot.Endpoints;

                int movedOthers = 0;
                for (int slot = 0; slot < before.Length; slot++)
                {
                    Endpoint oldOwner = beforeEndpoints[before[slot]];
                    if (!oldOwner.Equals(removed) && !afterEndpoints[after[slot]].Equals(oldOwner))
                    {
                        movedOthers++;
                    }
                }

                extra.Add(movedOthers / (double)before.Length);
                return true;
            }),
            maxTest: endpointCount >= 500 ? 10 : 40,
            seed: 5);

        output.WriteLine($"N={endpointCount}, M=65537: keys of surviving endpoints moved by one removal: mean {extra.Average():P3}, worst {extra.Max():P3}");
        Assert.True(extra.Average() <= maxMeanExtra, $"mean extra disruption {extra.Average():P3} above {maxMeanExtra:P2} (replay 5,{Replays.GoldenGamma})");
        Assert.True(extra.Max() <= maxWorstExtra, $"worst extra disruption {extra.Max():P3} above {maxWorstExtra:P2} (replay 5,{Replays.GoldenGamma})");
    }

    [Fact]
    public void Acquire_Bounded_NoEndpointReachesMoreThanItsCapacity()
    {
        MaglevBalancer balancer = new(new MaglevOptions { LoadFactor = 1.25 });
        Endpoint[] endpoints = TestEndpoints.Distinct(10, seed: 6);
        balancer.Update(endpoints);

        EndpointLease[] leases = new EndpointLease[100];
        for (int i = 0; i < leases.Length; i++)
        {
            leases[i] = balancer.Acquire("hot-key");
        }

        Assert.True(endpoints.Max(e => balancer.InFlightOf(e.Key)) <= 13);
        Assert.Equal(balancer.Pick("hot-key"), leases[0].Endpoint);
        Array.ForEach(leases, l => l.Dispose());
        Assert.All(endpoints, e => Assert.Equal(0, balancer.InFlightOf(e.Key)));
    }

    private static int[] SlotCounts(MaglevTable table, int endpointCount)
    {
        int[] counts = new int[endpointCount];
        foreach (int owner in table.Slots)
        {
            counts[owner]++;
        }

        return counts;
    }

    /// <summary>Endpoint sets of 10, 100 or 500 endpoints.</summary>
    public static class Sets
    {
        /// <summary>The generator the table properties take.</summary>
        public static Arbitrary<EndpointSet> EndpointSets() => EndpointSet.OfCount(10, 100, 500).ToArbitrary();
    }
}
