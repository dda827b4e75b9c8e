using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using LockFree.Balancing.Hashing;

namespace LockFree.Balancing.Ring;

/// <summary>
/// An immutable consistent-hash ring (Karger et al.): sorted 32-bit points, the endpoint that
/// owns each point, and a bucket index over the top bits of the point so that a lookup reads
/// one index entry and one or two ring entries instead of binary-searching the whole ring.
/// </summary>
/// <remarks>
/// <para>
/// Placement is defined byte for byte so that other clients can match it: a key's point is the
/// high 32 bits of XXH3-64 (seed 0) of its bytes; replica <c>r</c> of an endpoint is the high 32 bits
/// of XXH3-64 of the UTF-8 key followed by <c>r</c> as a 4-byte little-endian integer; a key belongs to
/// the first point at or after its own, wrapping at the top. Equal points are ordered by owner, and
/// owners are numbered in ordinal key order, so every client builds the same ring from the same set.
/// </para>
/// <para>Instances are never mutated after construction and are safe to read from any thread.</para>
/// </remarks>
internal sealed class HashRing
{
    /// <summary>Rings larger than this are refused: 8.4 M points already take about 100 MB.</summary>
    public const int MaxPoints = 1 << 23;

    private const int MinBucketBits = 1;
    private const int MaxBucketBits = 24;

    public static readonly HashRing Empty = new([], [], new int[(1 << MinBucketBits) + 1], 32 - MinBucketBits);

    private readonly uint[] _points;
    private readonly int[] _owners;
    private readonly int[] _bucketStarts;
    private readonly int _shift;

    private HashRing(uint[] points, int[] owners, int[] bucketStarts, int shift)
    {
        _points = points;
        _owners = owners;
        _bucketStarts = bucketStarts;
        _shift = shift;
    }

    /// <summary>Number of points on the ring.</summary>
    public int Count => _points.Length;

    /// <summary>The sorted points.</summary>
    public ReadOnlySpan<uint> Points => _points;

    /// <summary>For each point, the index of the endpoint that owns it.</summary>
    public ReadOnlySpan<int> Owners => _owners;

    /// <summary>The ring point of a key hash.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint PointOf(ulong keyHash) => (uint)(keyHash >> 32);

    /// <summary>The owner of the first point at or after <paramref name="point"/>. The ring must not be empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int OwnerOf(uint point) => Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_owners), FindPosition(point));

    /// <summary>The position of the first point at or after <paramref name="point"/>, wrapping to 0. The ring must not be empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int FindPosition(uint point)
    {
        // PERF: the bucket index holds, for every value of the top bits, the first ring position in that
        // bucket. Buckets average 1-2 points, so a lookup is one index load plus a short scan, where a
        // binary search makes log2(n) dependent loads that leave L1 and L2 at large n. The reads are
        // unchecked: the index is built with 2^bits + 1 entries and every entry is a valid position.
        ref int starts = ref MemoryMarshal.GetArrayDataReference(_bucketStarts);
        ref uint points = ref MemoryMarshal.GetArrayDataReference(_points);
        nint bucket = (nint)(point >> _shift);
        nint position = Unsafe.Add(ref starts, bucket);
        nint end = Unsafe.Add(ref starts, bucket + 1);
        while (position < end && Unsafe.Add(ref points, position) < point)
        {
            position++;
        }

        return position == _points.Length ? 0 : (int)position;
    }

    /// <summary>The ring point of replica <paramref name="replica"/> of the endpoint with UTF-8 key <paramref name="keyUtf8"/>.</summary>
    public static uint ReplicaPoint(ReadOnlySpan<byte> keyUtf8, int replica, Span<byte> scratch)
    {
        keyUtf8.CopyTo(scratch);
        BinaryPrimitives.WriteInt32LittleEndian(scratch[keyUtf8.Length..], replica);
        return PointOf(KeyHasher.Hash(scratch[..(keyUtf8.Length + sizeof(int))]));
    }

    /// <summary>
    /// Builds the ring for a new endpoint set, reusing the points of endpoints that stay unchanged
    /// so that adding or removing one endpoint costs a linear pass, not a rehash of the whole ring.
    /// </summary>
    /// <param name="previous">The ring of the previous set.</param>
    /// <param name="previousToNext">For each previous owner, its index in the new set, or -1 when its points must go (removed or reweighted).</param>
    /// <param name="added">The new endpoints whose points must be hashed, with their index in the new set.</param>
    /// <param name="virtualNodes">Points per unit of weight.</param>
    /// <exception cref="ArgumentException">The ring would exceed <see cref="MaxPoints"/>.</exception>
    public static HashRing Build(HashRing previous, ReadOnlySpan<int> previousToNext, ReadOnlySpan<(int Owner, Endpoint Endpoint)> added, int virtualNodes)
    {
        // Step 1 – count, refusing rings that would not fit before allocating anything.
        long count = 0;
        ReadOnlySpan<int> previousOwners = previous._owners;
        for (int i = 0; i < previousOwners.Length; i++)
        {
            if (previousToNext[previousOwners[i]] >= 0)
            {
                count++;
            }
        }

        foreach ((int _, Endpoint endpoint) in added)
        {
            count += (long)endpoint.Weight * virtualNodes;
        }

        if (count > MaxPoints)
        {
            throw new ArgumentException(
                $"The hash ring would hold {count} points (the sum of weight × virtual nodes); at most {MaxPoints} are accepted. Lower the virtual nodes per endpoint or the weights.");
        }

        if (count == 0)
        {
            return Empty;
        }

        // Step 2 – gather (point, owner) pairs as one sortable 64-bit value: kept points with their
        // owners renumbered, then the hashed replicas of the added endpoints.
        ulong[] entries = ArrayPool<ulong>.Shared.Rent((int)count);
        try
        {
            int written = 0;
            ReadOnlySpan<uint> previousPoints = previous._points;
            for (int i = 0; i < previousOwners.Length; i++)
            {
                int owner = previousToNext[previousOwners[i]];
                if (owner >= 0)
                {
                    entries[written++] = Pack(previousPoints[i], owner);
                }
            }

            Span<byte> scratch = stackalloc byte[1024];
            foreach ((int owner, Endpoint endpoint) in added)
            {
                int keyLength = Encoding.UTF8.GetBytes(endpoint.Key, scratch);
                ReadOnlySpan<byte> key = scratch[..keyLength];
                Span<byte> replicaScratch = scratch[keyLength..];
                int replicas = endpoint.Weight * virtualNodes;
                for (int replica = 0; replica < replicas; replica++)
                {
                    // The key bytes are copied once per replica into the scratch tail; the copy is cheap
                    // next to the hash and keeps ReplicaPoint a pure function of (key, replica).
                    entries[written++] = Pack(ReplicaPoint(key, replica, replicaScratch), owner);
                }
            }

            return FromEntries(entries.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(entries);
        }
    }

    private static HashRing FromEntries(Span<ulong> entries)
    {
        // Step 3 – counting sort on the top bits, which are exactly the bucket index, then an insertion
        // sort inside each bucket (1-2 entries on average): O(n) where a comparison sort is O(n log n).
        int count = entries.Length;
        int bits = Math.Clamp(BitOperations.Log2((uint)count), MinBucketBits, MaxBucketBits);
        int shift = 32 - bits;
        int bucketCount = 1 << bits;
        int[] starts = new int[bucketCount + 1];
        foreach (ulong entry in entries)
        {
            starts[(int)(PointOfEntry(entry) >> shift) + 1]++;
        }

        for (int bucket = 1; bucket <= bucketCount; bucket++)
        {
            starts[bucket] += starts[bucket - 1];
        }

        int[] cursors = ArrayPool<int>.Shared.Rent(bucketCount);
        ulong[] sorted = ArrayPool<ulong>.Shared.Rent(count);
        try
        {
            starts.AsSpan(0, bucketCount).CopyTo(cursors);
            foreach (ulong entry in entries)
            {
                int bucket = (int)(PointOfEntry(entry) >> shift);
                sorted[cursors[bucket]++] = entry;
            }

            for (int bucket = 0; bucket < bucketCount; bucket++)
            {
                InsertionSort(sorted.AsSpan(starts[bucket], starts[bucket + 1] - starts[bucket]));
            }

            uint[] points = new uint[count];
            int[] owners = new int[count];
            for (int i = 0; i < count; i++)
            {
                points[i] = PointOfEntry(sorted[i]);
                owners[i] = (int)(uint)sorted[i];
            }

            return new HashRing(points, owners, starts, shift);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(cursors);
            ArrayPool<ulong>.Shared.Return(sorted);
        }
    }

    private static void InsertionSort(Span<ulong> bucket)
    {
        for (int i = 1; i < bucket.Length; i++)
        {
            ulong value = bucket[i];
            int j = i - 1;
            while (j >= 0 && bucket[j] > value)
            {
                bucket[j + 1] = bucket[j];
                j--;
            }

            bucket[j + 1] = value;
        }
    }

    // The owner in the low half breaks ties between equal points by owner index, i.e. by key order.
    private static ulong Pack(uint point, int owner) => ((ulong)point << 32) | (uint)owner;

    private static uint PointOfEntry(ulong entry) => (uint)(entry >> 32);
}
