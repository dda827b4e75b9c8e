namespace LockFree.Balancing;

/// <summary>Why no endpoint could take a request: what <see cref="NoEndpointsException.Reason"/> reports.</summary>
/// <remarks>
/// There is no capacity reason, on purpose. A bounded-load capacity is a share of the requests in flight
/// (⌈c · total · w / W⌉), not an absolute limit: the capacities of the available endpoints always sum to more than
/// the requests on them, so "every endpoint is full" is never a sign of overload. It only happens transiently, while
/// other threads place requests between this placement's reads (or when counts disagree with the total). Failing
/// the request then would turn a race into an error that a latency-critical caller must handle or retry, costing
/// more than the one request above the cap it avoids; a bounded placement therefore goes over capacity on the least
/// loaded endpoint and reports <see cref="PickOutcome.OverCapacity"/>. To reject work under overload, put an
/// absolute concurrency limit in front of the balancer. (An <c>AllOverCapacity</c> value, never reported, was
/// removed.)
/// </remarks>
public enum NoEndpointsReason
{
    /// <summary>The endpoint set is empty, or every endpoint has weight 0.</summary>
    NoEndpoints = 0,

    /// <summary>Endpoints exist, but outlier ejection keeps every one of them from receiving requests.</summary>
    AllEjected = 1,
}
