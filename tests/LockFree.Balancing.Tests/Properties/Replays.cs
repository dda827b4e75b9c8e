namespace LockFree.Balancing.Tests.Properties;

/// <summary>
/// Parts of FsCheck replay strings. A replay is <c>"seed,gamma"</c> (FsCheck's SplitMix state); the properties
/// here were first checked with <c>new Rnd(seed)</c>, whose gamma is SplitMix's golden gamma, so
/// <c>Replay = "61," + Replays.GoldenGamma</c> replays what <c>new Rnd(61)</c> started. A failing property prints
/// the replay string of the failing run, which pastes into <c>Replay</c> as it stands.
/// </summary>
internal static class Replays
{
    /// <summary>0x9e3779b97f4a7c15, the gamma of <c>FsCheck.Random.Rnd(seed)</c>.</summary>
    public const string GoldenGamma = "11400714819323198485";
}
