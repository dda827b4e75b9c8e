using LockFree.Balancing.Hashing;

namespace LockFree.Balancing;

/// <summary>
/// Picks by index into the snapshot read, for integrations that keep their own object per endpoint of a snapshot
/// (the gRPC package's subchannel entries) and would otherwise look each pick's endpoint up in a dictionary.
/// </summary>
public abstract partial class LoadBalancer
{
    /// <summary>
    /// Picks the endpoint for a text key (hashed as UTF-8, as <see cref="TryPick(ReadOnlySpan{char}, out Endpoint?)"/>
    /// does) without counting a request in flight, and without the fallback endpoint.
    /// </summary>
    /// <param name="key">The affinity key.</param>
    /// <param name="snapshot">The snapshot the index refers to (compare it by reference with the one the caller mapped).</param>
    /// <returns>The index in <paramref name="snapshot"/>'s endpoints, or -1 when none is available.</returns>
    internal int PickIndex(ReadOnlySpan<char> key, out BalancerSnapshot snapshot)
        => PickIndexByHash(_placesByKey ? KeyHasher.Hash(key) : 0, out snapshot);

    /// <summary>Picks an endpoint without a key, like <see cref="PickIndex(ReadOnlySpan{char}, out BalancerSnapshot)"/>.</summary>
    /// <param name="snapshot">The snapshot the index refers to.</param>
    /// <returns>The index in <paramref name="snapshot"/>'s endpoints, or -1 when none is available.</returns>
    internal int PickIndex(out BalancerSnapshot snapshot)
        => PickIndexByHash(_placesByKey ? NextKeylessHash() : 0, out snapshot);

    private int PickIndexByHash(ulong keyHash, out BalancerSnapshot snapshot)
    {
        snapshot = Volatile.Read(ref _snapshot);
        return snapshot.Local is { } local && PickIn(snapshot, local, keyHash, out _) is var localIndex and >= 0
            ? localIndex
            : PickIn(snapshot, snapshot.All, keyHash, out _);
    }
}
