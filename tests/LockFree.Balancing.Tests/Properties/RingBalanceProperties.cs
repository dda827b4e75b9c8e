using FsCheck.Fluent;
using LockFree.Balancing.Ring;
using Xunit;
using Xunit.Abstractions;

namespace LockFree.Balancing.Tests.Properties;

/// <summary>
/// How evenly the ring spreads key space at the default V = 160. A simulation with an ideal 64-bit hash
/// gives a median peak/average of 1.12, 1.21 and 1.26 at N = 10, 100 and 1000; the bounds leave room
/// for 32-bit points and the generated sets.
/// </summary>
public sealed class RingBalanceProperties(ITestOutputHelper output)
{
    [Theory]
    [InlineData(10, 200, 1.30, 1.15)]
    [InlineData(100, 60, 1.40, 1.25)]
    [InlineData(1000, 12, 1.40, 1.30)]
    public void Ring_V160_PeakToAverageWithinBoundForEverySetAndMedianWithinTarget(int endpointCount, int sets, double everySetBound, double medianBound)
    {
        // Why a [Theory] and not a [Property]: the median bound is over all sets of a row, and a [Property] method
        // sees one case at a time (FsCheck.Xunit has no after-all-cases hook); both bounds also differ per N.
        List<double> ratios = [];
        SeededProperty.Check(
            Prop.ForAll(SeededProperty.EndpointSets(endpointCount), endpoints =>
            {
                ConsistentHashBalancer balancer = new();
                balancer.Update(endpoints);
                double ratio = RingAnalysis.PeakToAverage(RingOf(balancer), endpointCount);
                ratios.Add(ratio);
                return ratio <= everySetBound;
            }),
            maxTest: sets,
            seed: (ulong)endpointCount);

        double median = Median(ratios);
        output.WriteLine($"N={endpointCount}, V=160: median peak/avg {median:F3}, worst {ratios.Max():F3} over {ratios.Count} sets");
        Assert.True(median <= medianBound, $"median peak/average {median:F3} above {medianBound} at N={endpointCount} (replay {endpointCount},{Replays.GoldenGamma})");
    }

    [Fact]
    public void Ring_MoreVirtualNodes_BalanceImprovesRoughlyAsInverseSquareRoot()
    {
        // Documented in docs/design.md: the spread (peak/avg − 1) shrinks about as 1/√V.
        const int EndpointCount = 100;
        int[] virtualNodes = [10, 40, 160, 640];
        double[] spread = new double[virtualNodes.Length];
        for (int v = 0; v < virtualNodes.Length; v++)
        {
            List<double> ratios = [];
            for (int set = 0; set < 20; set++)
            {
                ConsistentHashBalancer balancer = new(new ConsistentHashOptions { VirtualNodesPerEndpoint = virtualNodes[v] });
                balancer.Update(TestEndpoints.Distinct(EndpointCount, seed: 1000 + set));
                ratios.Add(RingAnalysis.PeakToAverage(RingOf(balancer), EndpointCount));
            }

            spread[v] = Median(ratios) - 1;
            output.WriteLine($"N={EndpointCount}, V={virtualNodes[v]}: median peak/avg {Median(ratios):F3}");
        }

        for (int v = 1; v < virtualNodes.Length; v++)
        {
            // Four times the points should halve the spread; accept 0.35–0.7 of the previous value.
            double ratio = spread[v] / spread[v - 1];
            Assert.InRange(ratio, 0.35, 0.7);
        }
    }

    internal static HashRing RingOf(ConsistentHashBalancer balancer)
        => balancer.CurrentRing;

    internal static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
