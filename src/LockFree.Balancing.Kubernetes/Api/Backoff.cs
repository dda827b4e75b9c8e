namespace LockFree.Balancing.Kubernetes.Api;

/// <summary>Capped exponential backoff with "equal jitter" (half fixed, half random), so that many clients that lost the same API server do not return in step.</summary>
internal static class Backoff
{
    /// <summary>The delay before the next attempt.</summary>
    /// <param name="failures">Consecutive failures so far, 1 or more.</param>
    /// <param name="initial">The base delay of the first retry.</param>
    /// <param name="max">The cap.</param>
    /// <param name="random01">A random number in [0, 1).</param>
    /// <returns>A delay in [base/2, base), base = min(max, initial × 2^(failures − 1)).</returns>
    public static TimeSpan Delay(int failures, TimeSpan initial, TimeSpan max, double random01)
    {
        int exponent = Math.Clamp(failures - 1, 0, 30);
        double baseTicks = Math.Min(max.Ticks, initial.Ticks * Math.Pow(2, exponent));
        double jittered = (baseTicks / 2) + (baseTicks / 2 * Math.Clamp(random01, 0, 1));
        return TimeSpan.FromTicks((long)Math.Max(1, Math.Min(jittered, max.Ticks)));
    }
}
