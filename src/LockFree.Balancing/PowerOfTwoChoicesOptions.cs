namespace LockFree.Balancing;

/// <summary>Options of a <see cref="PowerOfTwoChoicesBalancer"/>.</summary>
public sealed class PowerOfTwoChoicesOptions : LoadBalancerOptions
{
    /// <summary>What the two candidates are compared by; <see cref="LoadMeasure.InFlight"/> unless set.</summary>
    public LoadMeasure LoadMeasure { get; set; } = LoadMeasure.InFlight;

    /// <summary>How fast <see cref="LoadMeasure.RequestRate"/> forgets: a request counts half as much after this long. 10 s unless set; 1 ms to 1 h.</summary>
    public TimeSpan RequestRateHalfLife { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How fast a <see cref="LoadMeasure.Reported"/> load fades when the backend stops reporting: it counts half as
    /// much after this long without a new report, so a backend shunned for a high report is tried again. 10 s unless
    /// set; 1 ms to 1 h. Backends that report on every response refresh it far more often than that.
    /// </summary>
    public TimeSpan ReportedLoadHalfLife { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A seed for reproducible candidate draws (tests, simulations), or <see langword="null"/> for per-thread randomness.</summary>
    public int? Seed { get; set; }
}
