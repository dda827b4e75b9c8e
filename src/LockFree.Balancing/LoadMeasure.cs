namespace LockFree.Balancing;

/// <summary>
/// What "load" means when a picker compares endpoints: the client-side equivalents of the GCE backend
/// pool's balancing modes (connections, rate, utilization).
/// </summary>
/// <remarks>
/// <see cref="PowerOfTwoChoicesBalancer"/> uses the configured measure, divided by weight. Bounded loads
/// (<see cref="ConsistentHashBalancer"/>, <see cref="MaglevBalancer"/>) always count requests in flight:
/// their capacity is exact only for a counter they increment and decrement themselves.
/// </remarks>
public enum LoadMeasure
{
    /// <summary>Requests acquired and not yet released (the GCE pool's CONNECTION mode). The default.</summary>
    InFlight,

    /// <summary>
    /// Requests started recently: an exponentially decaying count with a configurable half-life
    /// (the pool's RATE mode). Approximate under contention; see <see cref="PowerOfTwoChoicesOptions.RequestRateHalfLife"/>.
    /// </summary>
    RequestRate,

    /// <summary>
    /// A value the backend reports about itself, for example CPU utilization or queue length (the pool's
    /// UTILIZATION mode), fed through <see cref="LoadBalancer.ReportLoad"/>. 0 until reported; a report fades
    /// with its age (<see cref="PowerOfTwoChoicesOptions.ReportedLoadHalfLife"/>) until the next one replaces it.
    /// </summary>
    Reported,
}
