namespace LockFree.Balancing.Yarp;

/// <summary>
/// The names of the LockFree load-balancing policies, for <c>ClusterConfig.LoadBalancingPolicy</c> (or
/// <c>"LoadBalancingPolicy"</c> in a cluster's configuration section). Registered by
/// <c>AddLockFreeLoadBalancing()</c>.
/// </summary>
public static class LockFreeLoadBalancingPolicies
{
    /// <summary>
    /// Consistent hashing on a ring: requests with the same key (<see cref="LockFreeClusterMetadata.HashKey"/>, required)
    /// go to the same destination while the set is stable; a change moves about 1/n of the keys. With
    /// <see cref="LockFreeClusterMetadata.LoadFactor"/>, bounded loads cap each destination at that factor of the mean
    /// in-flight count.
    /// </summary>
    public const string ConsistentHash = "LockFreeConsistentHash";

    /// <summary>Maglev hashing (a lookup table, O(1) per pick): the same key rules as <see cref="ConsistentHash"/>, with near-perfect balance.</summary>
    public const string Maglev = "LockFreeMaglev";

    /// <summary>
    /// Power of two choices over in-flight requests: two weighted random draws, the one with fewer requests in flight
    /// wins. The count is taken at the pick (so concurrent picks see each other) and released when the forwarder
    /// finishes proxying the request.
    /// </summary>
    public const string PowerOfTwoChoices = "LockFreePowerOfTwoChoices";

    /// <summary>Weighted round robin (<see cref="LockFreeClusterMetadata.Weight"/> on destinations; 1 by default), one atomic increment per pick.</summary>
    public const string RoundRobin = "LockFreeRoundRobin";
}
