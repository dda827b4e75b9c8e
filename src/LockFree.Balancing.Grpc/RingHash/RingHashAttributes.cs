using Grpc.Net.Client.Balancer;

namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>
/// The <see cref="BalancerAddress.Attributes"/> the <c>ring_hash</c> policy reads from a resolver's addresses.
/// </summary>
/// <remarks>grpc-dotnet 2.85 defines no weight or hash-key attribute of its own, so these are LockFree's.</remarks>
public static class RingHashAttributes
{
    /// <summary>The attribute name of an address's weight: <c>"lockfree.weight"</c>.</summary>
    public const string WeightName = "lockfree.weight";

    /// <summary>The attribute name of an address's gRFC A76 endpoint hash key: <c>"hash_key"</c>.</summary>
    public const string HashKeyName = "hash_key";

    /// <summary>
    /// Gets the weight key: a positive <see cref="int"/>; 0, negative or absent counts as 1. An address listed
    /// twice adds its weights (gRFC A42 accepts both ways of weighting).
    /// </summary>
    public static BalancerAttributesKey<int> Weight { get; } = new(WeightName);

    /// <summary>
    /// Gets the gRFC A76 endpoint hash key: when set and not empty, the endpoint is placed on the ring by
    /// hashing this text instead of its "host:port" (e.g. a StatefulSet pod name that survives IP changes).
    /// </summary>
    public static BalancerAttributesKey<string> HashKey { get; } = new(HashKeyName);
}
