using System.Buffers.Binary;
using System.Text;
using LockFree.Balancing.Hashing;

namespace LockFree.Balancing.Benchmarks.Baselines;

/// <summary>
/// The common C# consistent-hash ring, written here as the baseline to beat: a sorted <c>uint[]</c> of
/// points with a parallel owner array, looked up with <see cref="Array.BinarySearch{T}(T[], T)"/> and a
/// wrap to the first point. Immutable after construction, so a pick takes no lock.
/// </summary>
/// <remarks>
/// It places keys exactly as <see cref="ConsistentHashBalancer"/> does, so only the lookup differs:
/// the same XXH3-64 key hash (<see cref="KeyHasher.Hash(ReadOnlySpan{byte})"/>, point = high 32 bits),
/// the same replica points (XXH3-64 of the endpoint's UTF-8 key followed by the replica number as a
/// 4-byte little-endian integer), the same V per unit of weight, and equal points ordered by owner in
/// ordinal key order. <c>--smoke</c> checks that both pick the same endpoint for every pooled key.
/// </remarks>
internal sealed class SortedArrayRing
{
    private readonly uint[] _points;
    private readonly Endpoint[] _owners;

    public SortedArrayRing(IEnumerable<Endpoint> endpoints, int virtualNodes)
    {
        Endpoint[] ordered = [.. endpoints.OrderBy(e => e.Key, StringComparer.Ordinal)];
        List<ulong> entries = new(ordered.Sum(e => e.Weight * virtualNodes));
        byte[] scratch = new byte[1024];
        for (int owner = 0; owner < ordered.Length; owner++)
        {
            int keyLength = Encoding.UTF8.GetBytes(ordered[owner].Key, scratch);
            int replicas = ordered[owner].Weight * virtualNodes;
            for (int replica = 0; replica < replicas; replica++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(scratch.AsSpan(keyLength), replica);
                uint point = (uint)(KeyHasher.Hash(scratch.AsSpan(0, keyLength + sizeof(int))) >> 32);

                // (point, owner) packed so one sort orders by point, then by owner: a deterministic tie-break.
                entries.Add(((ulong)point << 32) | (uint)owner);
            }
        }

        entries.Sort();
        _points = new uint[entries.Count];
        _owners = new Endpoint[entries.Count];
        for (int i = 0; i < entries.Count; i++)
        {
            _points[i] = (uint)(entries[i] >> 32);
            _owners[i] = ordered[(int)(uint)entries[i]];
        }
    }

    /// <summary>Number of points on the ring.</summary>
    public int Count => _points.Length;

    /// <summary>The owner of the first point at or after the key's point, or <see langword="null"/> when the ring is empty.</summary>
    public Endpoint? Pick(ReadOnlySpan<byte> key)
    {
        if (_points.Length == 0)
        {
            return null;
        }

        uint point = (uint)(KeyHasher.Hash(key) >> 32);
        int index = Array.BinarySearch(_points, point);
        if (index < 0)
        {
            index = ~index;
        }

        if (index == _points.Length)
        {
            index = 0;
        }

        return _owners[index];
    }
}
