using FsCheck.Fluent;
using LockFree.Balancing.Load;
using LockFree.Balancing.Tests.Properties;
using Xunit;

namespace LockFree.Balancing.Tests.Load;

public sealed class LoadCapacityTests
{
    [Fact]
    public void Admits_AnyOperands_EqualsLoadBelowExactCeilingNeverZero()
    {
        SeededProperty.Check(
            Prop.ForAll(
                Gen.Zip(Gen.Zip(Gen.Choose(1001, 100_000), Gen.Choose(1, int.MaxValue)), Gen.Zip(Gen.Choose(1, 1000), Gen.Choose(1, 8_388_608))).ToArbitrary(),
                operands =>
                {
                    ((int factorThousandths, int total), (int weight, int totalWeight)) = operands;
                    long limit = (long)factorThousandths * total * weight;
                    long scale = 1000L * totalWeight;
                    LoadCapacity capacity = new(limit, scale);
                    decimal exact = Math.Max(1, Math.Ceiling((decimal)limit / scale));
                    int[] loads = [0, 1, (int)Math.Min(int.MaxValue, exact - 1), (int)Math.Min(int.MaxValue, exact), (int)Math.Min(int.MaxValue, exact + 1), int.MaxValue];
                    return loads.All(load => capacity.Admits(load) == (load < exact)) && capacity.Value == exact;
                }),
            maxTest: 2000,
            seed: 61);
    }

    [Theory]
    [InlineData(1250, 4, 1, 5, 1)]
    [InlineData(1250, 5, 1, 5, 2)]
    [InlineData(1250, 100, 1, 10, 13)]
    [InlineData(1100, 1, 1, 1000, 1)]
    public void Value_KnownCases_MatchesHaproxyFormula(long factorThousandths, int total, int weight, long totalWeight, long expected)
        => Assert.Equal(expected, new LoadCapacity(factorThousandths * total * weight, 1000 * totalWeight).Value);
}
