using LockFree.Balancing.Hashing;

namespace LockFree.Balancing;

/// <summary>
/// Picks by index into the snapshot read, for integrations that keep their own object per endpoint of a snapshot
/// (the gRPC package's subchannel entries, the YARP package's destinations) and would otherwise look each pick's endpoint up in a dictionary.
/// </summary>
public abstract partial class LoadBalancer
{
    /// <summary>
    /// Picks the endpoint for a text key (hashed as UTF-8, as <see cref="TryPick(ReadOnlySpan{char}, out Endpoint?)"/>
    /// does) without counting a request in flight, and without the fallback endpoint.
    /// </summary>
    /// <param name="key">The affinity key.</param>
    /// <param name="snapshot">The snapshot the index refers to (compare it by reference with the one the caller mapped).</param>
    /// <param name="outcome">How the endpoint was chosen (home, overflow past an ejection, remote under topology).</param>
    /// <returns>The index in <paramref name="snapshot"/>'s endpoints, or -1 when none is available.</returns>
    internal int PickIndex(ReadOnlySpan<char> key, out BalancerSnapshot snapshot, out PickOutcome outcome)
        => PickIndexByHash(_placesByKey ? KeyHasher.Hash(key) : 0, out snapshot, out outcome);

    /// <summary>
    /// Picks the endpoint for a byte key (hashed as given, as <see cref="TryPick(ReadOnlySpan{byte}, out Endpoint?)"/>
    /// does) without counting a request in flight, and without the fallback endpoint.
    /// </summary>
    /// <param name="key">The affinity key.</param>
    /// <param name="snapshot">The snapshot the index refers to.</param>
    /// <param name="outcome">How the endpoint was chosen.</param>
    /// <returns>The index in <paramref name="snapshot"/>'s endpoints, or -1 when none is available.</returns>
    internal int PickIndex(ReadOnlySpan<byte> key, out BalancerSnapshot snapshot, out PickOutcome outcome)
        => PickIndexByHash(_placesByKey ? KeyHasher.Hash(key) : 0, out snapshot, out outcome);

    /// <summary>Picks an endpoint without a key, like <see cref="PickIndex(ReadOnlySpan{char}, out BalancerSnapshot, out PickOutcome)"/>.</summary>
    /// <param name="snapshot">The snapshot the index refers to.</param>
    /// <param name="outcome">How the endpoint was chosen.</param>
    /// <returns>The index in <paramref name="snapshot"/>'s endpoints, or -1 when none is available.</returns>
    internal int PickIndex(out BalancerSnapshot snapshot, out PickOutcome outcome)
        => PickIndexByHash(_placesByKey ? NextKeylessHash() : 0, out snapshot, out outcome);

    private int PickIndexByHash(ulong keyHash, out BalancerSnapshot snapshot, out PickOutcome outcome)
    {
        snapshot = Volatile.Read(ref _snapshot);
        if (snapshot.Local is not { } local)
        {
            return PickIn(snapshot, snapshot.All, keyHash, out outcome);
        }

        int index = PickIn(snapshot, local, keyHash, out outcome);
        if (index >= 0)
        {
            return index;
        }

        // Nothing local was available: as for an acquire, the pick among all endpoints is Remote unless it is local.
        index = PickIn(snapshot, snapshot.All, keyHash, out outcome);
        if (index >= 0 && !snapshot.IsLocal(index))
        {
            outcome = PickOutcome.Remote;
        }

        return index;
    }
}
