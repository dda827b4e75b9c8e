using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace LockFree.Balancing.Tests.Properties;

/// <summary>
/// Runs an FsCheck property from a fixed seed inside a <c>[Theory]</c>, for the few statistical tests that assert
/// on all cases together (a median or a mean over the generated sets) after the run: a <c>[Property]</c> method
/// sees one case at a time and FsCheck.Xunit has no after-all-cases hook. Every other property is a
/// <c>[Property(Replay = ...)]</c>. A failing case throws with the replay seed, e.g.
/// <c>Falsifiable, after 1 test (0 shrinks) (7,11400714819323198485)</c>.
/// </summary>
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
