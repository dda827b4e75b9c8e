using FsCheck;
using FsCheck.Fluent;

namespace LockFree.Balancing.Tests.Properties;

/// <summary>
/// A generated set of distinct IPv4 endpoints, <see cref="TestEndpoints.Distinct"/> of <see cref="Count"/> from
/// <see cref="Seed"/>; a failing case prints both, so it can be rebuilt without FsCheck.
/// </summary>
public sealed class EndpointSet
{
    /// <summary>Builds the set <c>TestEndpoints.Distinct(count, seed)</c>.</summary>
    public EndpointSet(int count, int seed)
    {
        Count = count;
        Seed = seed;
        Endpoints = TestEndpoints.Distinct(count, seed);
    }

    /// <summary>How many endpoints the set holds.</summary>
    public int Count { get; }

    /// <summary>The seed the set was built from.</summary>
    public int Seed { get; }

    /// <summary>The endpoints, distinct, weight 1.</summary>
    public Endpoint[] Endpoints { get; }

    /// <summary>Sets of one of <paramref name="counts"/> endpoints (chosen uniformly), each from a seed in 0..<see cref="int.MaxValue"/>.</summary>
    public static Gen<EndpointSet> OfCount(params int[] counts)
        => from count in Gen.Elements(counts)
           from seed in Gen.Choose(0, int.MaxValue)
           select new EndpointSet(count, seed);

    /// <inheritdoc/>
    public override string ToString() => $"TestEndpoints.Distinct({Count}, seed: {Seed})";
}
