namespace LockFree.Balancing;

/// <summary>What a balancer knows about one endpoint at the moment <see cref="LoadBalancer.GetStatus"/> was called.</summary>
public sealed class EndpointStatus
{
    internal EndpointStatus(Endpoint endpoint, int inFlight, double reportedLoad, double? recentRequests, bool isDraining, TimeSpan? ejectionRemaining, int consecutiveFailures, bool isLocal, long ignoredReleases)
    {
        IgnoredReleases = ignoredReleases;
        IsLocal = isLocal;
        Endpoint = endpoint;
        InFlight = inFlight;
        ReportedLoad = reportedLoad;
        RecentRequests = recentRequests;
        IsDraining = isDraining;
        EjectionRemaining = ejectionRemaining;
        ConsecutiveFailures = consecutiveFailures;
    }

    /// <summary>The endpoint, with its latest attributes.</summary>
    public Endpoint Endpoint { get; }

    /// <summary>
    /// True when picks prefer it: it is in the caller's local set under <see cref="LoadBalancerOptions.Topology"/>, or
    /// there is no local set (no preference, or none of the endpoints is local). False for draining endpoints.
    /// </summary>
    public bool IsLocal { get; }

    /// <summary>Requests acquired on it and not yet released.</summary>
    public int InFlight { get; }

    /// <summary>The last load it reported through <see cref="LoadBalancer.ReportLoad"/>, as reported (power of two choices lets it fade with its age); 0 until one is reported.</summary>
    public double ReportedLoad { get; }

    /// <summary>Its decaying count of recent requests, when the picker tracks request rates (<see cref="LoadMeasure.RequestRate"/>); otherwise <see langword="null"/>.</summary>
    public double? RecentRequests { get; }

    /// <summary>True when an update removed it but requests on it are still in flight.</summary>
    public bool IsDraining { get; }

    /// <summary>True while outlier ejection keeps new requests away from it.</summary>
    public bool IsEjected => EjectionRemaining is not null;

    /// <summary>How long its ejection still lasts, or <see langword="null"/> when it is not ejected.</summary>
    public TimeSpan? EjectionRemaining { get; }

    /// <summary>Failures reported in a row since its last success or ejection.</summary>
    public int ConsecutiveFailures { get; }

    /// <summary>
    /// Releases refused because they found its in-flight count at 0: a lease disposed (or failed) twice, through a
    /// copy of the struct, a <see langword="readonly"/> field (C# disposes a defensive copy, so the field stays held)
    /// or two threads disposing one variable. Above 0 means a caller's lease handling is wrong; the count itself
    /// never goes below 0. Cumulative while the balancer tracks the endpoint.
    /// </summary>
    public long IgnoredReleases { get; }

    /// <inheritdoc/>
    public override string ToString()
        => $"{Endpoint.Key} in-flight={InFlight}{(IgnoredReleases > 0 ? $" ignored-releases={IgnoredReleases}" : "")}{(IsDraining ? " draining" : "")}{(IsEjected ? $" ejected for {EjectionRemaining}" : "")}";
}
