using FsCheck.Xunit;
using LockFree.Balancing.Load;
using LockFree.Balancing.Tests.Properties;
using Xunit;

namespace LockFree.Balancing.Tests.Load;

public sealed class LoadCapacityTests
{
    // Replay: the seed the Check.One version used; 2000 cases as before.
    [Property(Replay = "61," + Replays.GoldenGamma, MaxTest = 2000, Arbitrary = new[] { typeof(CapacityOperands) })]
    public bool Admits_AnyOperands_EqualsLoadBelowExactCeilingNeverZero(CapacityOperands operands)
    {
        long limit = (long)operands.FactorThousandths * operands.Total * operands.Weight;
        long scale = 1000L * operands.TotalWeight;
        LoadCapacity capacity = new(limit, scale);
        decimal exact = Math.Max(1, Math.Ceiling((decimal)limit / scale));
        int[] loads = [0, 1, (int)Math.Min(int.MaxValue, exact - 1), (int)Math.Min(int.MaxValue, exact), (int)Math.Min(int.MaxValue, exact + 1), int.MaxValue];
        return loads.All(load => capacity.Admits(load) == (load < exact)) && capacity.Value == exact;
    }

    [Theory]
    [InlineData(1250, 4, 1, 5, 1)]
    [InlineData(1250, 5, 1, 5, 2)]
    [InlineData(1250, 100, 1, 10, 13)]
    [InlineData(1100, 1, 1, 1000, 1)]
    public void Value_KnownCases_MatchesHaproxyFormula(long factorThousandths, int total, int weight, long totalWeight, long expected)
        => Assert.Equal(expected, new LoadCapacity(factorThousandths * total * weight, 1000 * totalWeight).Value);
}
