namespace LockFree.Balancing;

/// <summary>The policies every picker shares: what to do when no endpoint is available, outlier ejection, and the clock.</summary>
/// <remarks>Each picker's options derive from this class; <see cref="RoundRobinBalancer"/> takes it as it is.</remarks>
public class LoadBalancerOptions
{
    /// <summary>
    /// The endpoint to return when none is available (the set is empty, every weight is 0 or every endpoint is
    /// ejected), for example the Service's own DNS name (<c>web.shop.svc.cluster.local:80</c>, the seed's
    /// "service fallback"). <see langword="null"/> (the default): <c>TryPick</c>/<c>TryAcquire</c> return
    /// <see langword="false"/> and <c>Pick</c>/<c>Acquire</c> throw <see cref="NoEndpointsException"/>.
    /// </summary>
    public Endpoint? FallbackEndpoint { get; set; }

    /// <summary>Passive outlier ejection, driven by failures reported on leases; <see langword="null"/> (the default) disables it.</summary>
    public OutlierEjectionOptions? OutlierEjection { get; set; }

    /// <summary>The clock for ejection times and request rates; <see cref="TimeProvider.System"/> unless set (tests pass a fake).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Throws when a shared option is invalid.</summary>
    internal void ValidateShared(string parameterName)
    {
        if (TimeProvider is null)
        {
            throw new ArgumentException("TimeProvider cannot be null; leave it unset for TimeProvider.System.", parameterName);
        }

        OutlierEjection?.Validate(parameterName);
    }
}
