using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace LockFree.Balancing.Tests.Properties;

/// <summary>Runs FsCheck properties from a fixed seed, so every run checks the same cases and a failure reproduces.</summary>
internal static class SeededProperty
{
    public static void Check(Property property, int maxTest, ulong seed)
    {
        Config config = Config.QuickThrowOnFailure
            .WithMaxTest(maxTest)
            .WithQuietOnSuccess(true)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed), FSharpOption<int>.None)));
        FsCheck.Check.One(config, property);
    }

    /// <summary>Distinct IPv4 endpoint sets of exactly <paramref name="count"/> endpoints, one per generated seed.</summary>
    public static Arbitrary<Endpoint[]> EndpointSets(int count)
        => Gen.Choose(0, int.MaxValue).Select(seed => TestEndpoints.Distinct(count, seed)).ToArbitrary();
}
