using FsCheck;
using FsCheck.Fluent;

namespace LockFree.Balancing.Tests.Load;

/// <summary>
/// Operands of a bounded-load capacity, <c>ceil(factor × total × weight / totalWeight)</c>, over the ranges the
/// options and the snapshot allow: factor 1.001–100 in thousandths, any positive total, weight 1–1000 and a total
/// weight up to 2^23.
/// </summary>
/// <param name="FactorThousandths">The load factor in thousandths.</param>
/// <param name="Total">Requests in flight, this one included.</param>
/// <param name="Weight">The endpoint's weight.</param>
/// <param name="TotalWeight">The set's total weight.</param>
public sealed record CapacityOperands(int FactorThousandths, int Total, int Weight, int TotalWeight)
{
    /// <summary>The generator; register with <c>[Property(Arbitrary = new[] { typeof(CapacityOperands) })]</c>.</summary>
    public static Arbitrary<CapacityOperands> Arbitrary()
        => (from factor in Gen.Choose(1001, 100_000)
            from total in Gen.Choose(1, int.MaxValue)
            from weight in Gen.Choose(1, 1000)
            from totalWeight in Gen.Choose(1, 8_388_608)
            select new CapacityOperands(factor, total, weight, totalWeight)).ToArbitrary();
}
