namespace LockFree.Balancing.Yarp;

/// <summary>
/// The metadata keys the LockFree policies read from <c>ClusterConfig.Metadata</c> and <c>DestinationConfig.Metadata</c>.
/// Every value is checked when the proxy configuration loads: a bad one fails the load (at start-up, the host does not
/// start; on a reload, YARP logs the error and keeps the previous configuration), never a request.
/// </summary>
public static class LockFreeClusterMetadata
{
    /// <summary>
    /// Cluster metadata: where the affinity key of <see cref="LockFreeLoadBalancingPolicies.ConsistentHash"/> and
    /// <see cref="LockFreeLoadBalancingPolicies.Maglev"/> comes from (required by them, refused by the others):
    /// <c>header:x-user</c> (the first value of a request header), <c>cookie:session</c> (a request cookie),
    /// <c>route:id</c> (a route value of the matched route), or <c>client-ip</c> (the connection's remote address;
    /// behind another proxy, add ASP.NET Core's forwarded-headers middleware first). A request without the key is
    /// spread as if it carried a fresh random key (bounded loads still apply).
    /// </summary>
    public const string HashKey = "LockFree.HashKey";

    /// <summary>
    /// Cluster metadata, optional, for the hashing policies only: the bounded-load factor, a number above 1 and at most
    /// 100 (for example <c>1.25</c>): no destination holds more than that factor of the mean in-flight count, and a key
    /// whose home is full goes to the next destination with room.
    /// </summary>
    public const string LoadFactor = "LockFree.LoadFactor";

    /// <summary>Destination metadata, optional: the destination's relative weight, an integer 0-1000 (default 1; 0 keeps it out of new picks).</summary>
    public const string Weight = "LockFree.Weight";
}
