using System.Globalization;

namespace LockFree.Balancing.Tests.Soak;

/// <summary>
/// The soak switch: <c>LOCKFREE_SOAK_SECONDS=N</c> runs each soak for N seconds; unset, each runs a two-second
/// smoke version, so the code is compiled and exercised by every <c>dotnet test</c>.
/// </summary>
internal static class SoakSettings
{
    public const string Variable = "LOCKFREE_SOAK_SECONDS";

    /// <summary>True when the long version was asked for.</summary>
    public static bool IsLong => Seconds is not null;

    /// <summary>How long each soak runs.</summary>
    public static TimeSpan Duration => TimeSpan.FromSeconds(Seconds ?? 2);

    private static double? Seconds
        => double.TryParse(Environment.GetEnvironmentVariable(Variable), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0
            ? seconds
            : null;
}
