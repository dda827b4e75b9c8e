using FsCheck;
using FsCheck.Fluent;

namespace LockFree.Balancing.Tests.Ring;

/// <summary>A generated ring size: 1–300 endpoints with 1–200 virtual nodes each.</summary>
/// <param name="Endpoints">Endpoints on the ring.</param>
/// <param name="VirtualNodes">Virtual nodes per endpoint.</param>
public sealed record RingSize(int Endpoints, int VirtualNodes)
{
    /// <summary>The generator; register with <c>[Property(Arbitrary = new[] { typeof(RingSize) })]</c>.</summary>
    public static Arbitrary<RingSize> Arbitrary()
        => (from endpoints in Gen.Choose(1, 300)
            from virtualNodes in Gen.Choose(1, 200)
            select new RingSize(endpoints, virtualNodes)).ToArbitrary();
}
