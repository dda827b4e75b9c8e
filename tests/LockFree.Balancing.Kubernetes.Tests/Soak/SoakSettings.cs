using System.Globalization;

namespace LockFree.Balancing.Kubernetes.Tests.Soak;

/// <summary>
/// The soak switch: <c>LOCKFREE_SOAK_SECONDS=N</c> runs the soak for N seconds; unset, it runs a short smoke version
/// (one chaos round and one convergence), so the code is compiled and exercised by every <c>dotnet test</c>.
/// </summary>
internal static class SoakSettings
{
    public const string Variable = "LOCKFREE_SOAK_SECONDS";

    public static bool IsLong => Seconds is not null;

    public static TimeSpan Duration => TimeSpan.FromSeconds(Seconds ?? 2);

    private static double? Seconds
        => double.TryParse(Environment.GetEnvironmentVariable(Variable), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0
            ? seconds
            : null;
}
