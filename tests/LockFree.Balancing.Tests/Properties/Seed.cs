using System.Globalization;
using FsCheck;
using FsCheck.Fluent;

namespace LockFree.Balancing.Tests.Properties;

/// <summary>
/// A generated seed anywhere in 0..<see cref="int.MaxValue"/>, for properties that build their case from a seeded
/// <see cref="Random"/> or <see cref="TestEndpoints"/>. FsCheck's own <see cref="int"/> is sized (small values
/// first) and signed, so these properties take a <see cref="Seed"/> instead.
/// </summary>
/// <param name="Value">The seed.</param>
public readonly record struct Seed(int Value)
{
    /// <summary>Seeds over the whole non-negative range; register with <c>[Property(Arbitrary = ...)]</c>.</summary>
    public static Arbitrary<Seed> Arbitrary() => Gen.Choose(0, int.MaxValue).Select(value => new Seed(value)).ToArbitrary();

    /// <inheritdoc/>
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
}
