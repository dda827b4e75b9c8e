namespace LockFree.Balancing;

/// <summary>
/// Passive outlier ejection: an endpoint whose requests fail <see cref="ConsecutiveFailures"/> times in a row
/// (reported with <see cref="EndpointLease.Fail"/>) receives no new requests for a while, then comes back by itself.
/// </summary>
/// <remarks>
/// The n-th ejection of an endpoint lasts <see cref="BaseEjectionTime"/> · 2^(n−1), at most
/// <see cref="MaxEjectionTime"/>; the count starts over once the endpoint has served without ejection for
/// <see cref="MaxEjectionTime"/>. Never more than <see cref="MaxEjectedShare"/> of the endpoints are ejected
/// at once (rounded down, but at least one endpoint, as Envoy's <c>max_ejection_percent</c>), so a failure that is
/// the caller's own (or the network's) cannot empty a set of several endpoints.
/// </remarks>
public sealed class OutlierEjectionOptions
{
    /// <summary>Failures in a row that eject an endpoint: 5 unless set; 1–1000.</summary>
    public int ConsecutiveFailures { get; set; } = 5;

    /// <summary>How long a first ejection lasts: 30 s unless set; 1 ms to 1 h.</summary>
    public TimeSpan BaseEjectionTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest ejection: 5 min unless set; at least <see cref="BaseEjectionTime"/>, at most 1 day.</summary>
    public TimeSpan MaxEjectionTime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The largest share of endpoints ejected at once: 0.5 unless set; above 0, at most 1. The cap is
    /// ⌊share · n⌋ endpoints of the n pickable ones, computed exactly (the share is taken to six decimals), and
    /// never below 1: one endpoint may always be ejected, even the only one.
    /// </summary>
    public double MaxEjectedShare { get; set; } = 0.5;

    internal void Validate(string parameterName)
    {
        if (ConsecutiveFailures is < 1 or > 1000)
        {
            throw new ArgumentException($"OutlierEjection.ConsecutiveFailures {ConsecutiveFailures} is not accepted: it must be between 1 and 1000 (default 5).", parameterName);
        }

        if (BaseEjectionTime < TimeSpan.FromMilliseconds(1) || BaseEjectionTime > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"OutlierEjection.BaseEjectionTime {BaseEjectionTime} is not accepted: it must be between 1 ms and 1 h (default 30 s).", parameterName);
        }

        if (MaxEjectionTime < BaseEjectionTime || MaxEjectionTime > TimeSpan.FromDays(1))
        {
            throw new ArgumentException($"OutlierEjection.MaxEjectionTime {MaxEjectionTime} is not accepted: it must be at least BaseEjectionTime ({BaseEjectionTime}) and at most 1 day (default 5 min).", parameterName);
        }

        if (!(MaxEjectedShare > 0 && MaxEjectedShare <= 1))
        {
            throw new ArgumentException($"OutlierEjection.MaxEjectedShare {MaxEjectedShare} is not accepted: it must be above 0 and at most 1 (default 0.5).", parameterName);
        }
    }
}
