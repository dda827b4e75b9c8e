using FsCheck;
using FsCheck.Fluent;

namespace LockFree.Balancing.Tests.Ring;

/// <summary>400 generated 32-bit hash points, uniform over the whole range (FsCheck's own arrays are sized and short).</summary>
/// <param name="Values">The points.</param>
public sealed record RandomPoints(uint[] Values)
{
    /// <summary>The generator; register with <c>[Property(Arbitrary = new[] { typeof(RandomPoints) })]</c>.</summary>
    public static Arbitrary<RandomPoints> Arbitrary()
        => Gen.ArrayOf(Point, 400).Select(values => new RandomPoints(values)).ToArbitrary();

    // Two 16-bit halves: exactly uniform over 0..uint.MaxValue (Gen.Choose is inclusive over int only).
    private static Gen<uint> Point
        => from high in Gen.Choose(0, ushort.MaxValue)
           from low in Gen.Choose(0, ushort.MaxValue)
           select ((uint)high << 16) | (uint)low;

    /// <inheritdoc/>
    public override string ToString() => $"[{string.Join(", ", Values)}]";
}
