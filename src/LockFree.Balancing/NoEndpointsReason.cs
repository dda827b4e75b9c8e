namespace LockFree.Balancing;

/// <summary>Why no endpoint could take a request: what <see cref="NoEndpointsException.Reason"/> reports.</summary>
public enum NoEndpointsReason
{
    /// <summary>The endpoint set is empty, or every endpoint has weight 0.</summary>
    NoEndpoints = 0,

    /// <summary>Endpoints exist, but outlier ejection keeps every one of them from receiving requests.</summary>
    AllEjected = 1,

    /// <summary>
    /// Every available endpoint is at its bounded-load capacity. Reserved for callers that place under a cap
    /// without a last resort: the balancers' own acquires never report it, because a bounded placement that finds
    /// no room goes over capacity on the least loaded endpoint (<see cref="PickOutcome.OverCapacity"/>).
    /// </summary>
    AllOverCapacity = 2,
}
