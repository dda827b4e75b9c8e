namespace LockFree.Balancing;

/// <summary>
/// The value of the <c>lockfree.pick.outcome</c> attribute every integration puts on its metrics and spans, one
/// spelling for all of them (OpenTelemetry's snake case).
/// </summary>
internal static class PickOutcomeTag
{
    /// <summary>The attribute's value for <see cref="PickOutcome.Home"/>.</summary>
    public const string Home = "home";

    /// <summary>The attribute's value when nothing could be picked.</summary>
    public const string None = "none";

    /// <summary>The attribute's value for <paramref name="outcome"/>.</summary>
    public static string Of(PickOutcome outcome) => outcome switch
    {
        PickOutcome.Home => Home,
        PickOutcome.Overflow => "overflow",
        PickOutcome.Remote => "remote",
        PickOutcome.Fallback => "fallback",
        PickOutcome.OverCapacity => "over_capacity",
        _ => "unknown",
    };
}
