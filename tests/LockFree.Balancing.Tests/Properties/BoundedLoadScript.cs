using System.Globalization;
using FsCheck;
using FsCheck.Fluent;

namespace LockFree.Balancing.Tests.Properties;

/// <summary>
/// A generated bounded-load run: a placement (<c>ring</c> or <c>maglev</c>), a load factor, and a script of up to
/// 600 steps; each step is an acquire, a release or a set change, chosen by <c>step % 10</c>.
/// </summary>
/// <param name="Placement"><c>ring</c> or <c>maglev</c>.</param>
/// <param name="LoadFactor">The balancer's load factor.</param>
/// <param name="Steps">The script.</param>
public sealed record BoundedLoadScript(string Placement, double LoadFactor, int[] Steps)
{
    private static readonly (string Placement, double LoadFactor)[] Configurations =
    [
        ("ring", 1.25), ("ring", 1.05), ("ring", 2.0), ("maglev", 1.25), ("maglev", 1.05),
    ];

    /// <summary>The generator; register with <c>[Property(Arbitrary = new[] { typeof(BoundedLoadScript) })]</c>.</summary>
    public static Arbitrary<BoundedLoadScript> Arbitrary()
        => (from configuration in Gen.Elements(Configurations)
            from steps in Gen.Choose(0, int.MaxValue).ArrayOf().Resize(600)
            select new BoundedLoadScript(configuration.Placement, configuration.LoadFactor, steps)).ToArbitrary();

    /// <inheritdoc/>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{Placement}, load factor {LoadFactor}, {Steps.Length} steps [{string.Join(", ", Steps)}]");
}
