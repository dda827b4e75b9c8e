namespace LockFree.Balancing;

/// <summary>How an acquire placed its request: what <see cref="EndpointLease.Outcome"/> reports, for metrics and logs.</summary>
public enum PickOutcome
{
    /// <summary>
    /// The picker's first choice: the key's home on the ring or Maglev table, the next slot of the round-robin
    /// cycle, the random draw, the lesser loaded of the two candidates.
    /// </summary>
    Home = 0,

    /// <summary>Another endpoint, because the first choice was ejected or (with bounded loads) full.</summary>
    Overflow = 1,

    /// <summary>
    /// An endpoint outside the caller's local set: topology preference is configured
    /// (<see cref="LoadBalancerOptions.Topology"/>) and no local endpoint was available or had room.
    /// </summary>
    Remote = 2,

    /// <summary>The configured <see cref="LoadBalancerOptions.FallbackEndpoint"/>, because no endpoint was available.</summary>
    Fallback = 3,

    /// <summary>
    /// With bounded loads: no endpoint had room against any total the placement could read (other threads kept
    /// placing requests, or counts disagree with the total), so the request went over capacity on the least loaded
    /// available endpoint rather than fail while endpoints are available. Rare; worth a metric. Reported in preference
    /// to <see cref="Remote"/> or <see cref="Overflow"/> when the request also left the local set.
    /// </summary>
    OverCapacity = 4,
}
