namespace LockFree.Balancing;

/// <summary>An endpoint ejected by passive outlier detection: what <see cref="LoadBalancerOptions.Ejected"/> receives.</summary>
/// <param name="Endpoint">The ejected endpoint.</param>
/// <param name="Duration">How long it stays out of the pick: the base time, doubled with each ejection in a row, capped.</param>
/// <param name="TimesEjected">The ejections in a row including this one (1 for a first ejection).</param>
public readonly record struct EndpointEjection(Endpoint Endpoint, TimeSpan Duration, int TimesEjected);
