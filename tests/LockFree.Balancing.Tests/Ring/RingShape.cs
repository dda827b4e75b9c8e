using FsCheck;
using FsCheck.Fluent;

namespace LockFree.Balancing.Tests.Ring;

/// <summary>
/// A generated ring: 1–1200 endpoints from a seed, 1–200 virtual nodes, and every n-th endpoint at weight 0
/// (n of 2, 7 or 50; 0 for none, drawn twice as often) so that lookups also run over sparse owner indices.
/// </summary>
/// <param name="Endpoints">Endpoints in the set.</param>
/// <param name="VirtualNodes">Virtual nodes per endpoint.</param>
/// <param name="ZeroWeightEvery">Every n-th endpoint (index % n == 1) has weight 0; 0 for none.</param>
/// <param name="Seed">The seed of <see cref="TestEndpoints.Distinct"/>.</param>
public sealed record RingShape(int Endpoints, int VirtualNodes, int ZeroWeightEvery, int Seed)
{
    /// <summary>The generator; register with <c>[Property(Arbitrary = new[] { typeof(RingShape) })]</c>.</summary>
    public static Arbitrary<RingShape> Arbitrary()
        => (from endpoints in Gen.Choose(1, 1200)
            from virtualNodes in Gen.Choose(1, 200)
            from zeroWeightEvery in Gen.Elements(0, 0, 2, 7, 50)
            from seed in Gen.Choose(0, int.MaxValue)
            select new RingShape(endpoints, virtualNodes, zeroWeightEvery, seed)).ToArbitrary();
}
