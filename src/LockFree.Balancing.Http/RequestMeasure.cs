namespace LockFree.Balancing.Http;

/// <summary>
/// What one try recorded when it took its lease, so that its release records the matching end: whether it was
/// counted in <c>active_requests</c> (the -1 must match a +1, even if a listener came or went meanwhile) and the
/// clock of its duration. <see langword="default"/> when neither instrument was listened to at the start.
/// </summary>
internal readonly struct RequestMeasure(BalancingMetrics metrics, ServiceTarget target, string method, long started, bool active)
{
    public BalancingMetrics? Metrics { get; } = metrics;

    public ServiceTarget? Target { get; } = target;

    public string? Method { get; } = method;

    /// <summary>The <see cref="System.Diagnostics.Stopwatch"/> timestamp of the pick; 0 when the duration is not recorded.</summary>
    public long Started { get; } = started;

    /// <summary>Whether the start was counted in <c>active_requests</c>.</summary>
    public bool Active { get; } = active;
}
