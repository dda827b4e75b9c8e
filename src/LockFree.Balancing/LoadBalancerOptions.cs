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

    /// <summary>
    /// Topology preference: the caller's zone and node, whose endpoints picks prefer, falling back to every endpoint
    /// when none of those is available or has room. <see langword="null"/> (the default): no preference.
    /// </summary>
    public TopologyOptions? Topology { get; set; }

    /// <summary>
    /// Called each time outlier ejection ejects an endpoint, for logs and metrics; <see langword="null"/> (the default)
    /// for none. It runs on the thread whose <see cref="EndpointLease.Fail"/> completed the run of failures, after the
    /// ejection is in force and outside any lock; keep it short. An exception it throws propagates from that
    /// <see cref="EndpointLease.Fail"/> call (the ejection and the lease release have happened by then).
    /// </summary>
    public Action<EndpointEjection>? Ejected { get; set; }

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
        Topology?.Validate(parameterName);
    }
}
