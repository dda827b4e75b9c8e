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
/// owns each point, a bucket index over the top bits of the point, and one 16-byte slot per bucket
/// that answers most lookups from a single cache line.
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

    public static readonly HashRing Empty = new([], [], new int[(1 << MinBucketBits) + 1], new BucketSlot[1 << MinBucketBits], 32 - MinBucketBits);

    private readonly uint[] _points;
    private readonly int[] _owners;
    private readonly int[] _bucketStarts;
    private readonly BucketSlot[] _slots;
    private readonly int _shift;

    private HashRing(uint[] points, int[] owners, int[] bucketStarts, BucketSlot[] slots, int shift)
    {
        _points = points;
        _owners = owners;
        _bucketStarts = bucketStarts;
        _slots = slots;
        _shift = shift;
    }

    /// <summary>Number of points on the ring.</summary>
    public int Count => _points.Length;

    /// <summary>The sorted points.</summary>
    public ReadOnlySpan<uint> Points => _points;

    /// <summary>For each point, the index of the endpoint that owns it.</summary>
    public ReadOnlySpan<int> Owners => _owners;

    /// <summary>How many top bits of a point select its bucket (tests probe every bucket's edges).</summary>
    internal int BucketBits => 32 - _shift;

    /// <summary>The ring point of a key hash.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint PointOf(ulong keyHash) => (uint)(keyHash >> 32);

    /// <summary>The owner of the first point at or after <paramref name="point"/>. The ring must not be empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int OwnerOf(uint point)
    {
        // PERF: one 16-byte slot per bucket holds the bucket's first two points and the owners of the first point at
        // or after the bucket's start and of the next one, so a key at or below the second point (every key of a
        // bucket with at most two points: 82-96 % of keys at 1-2 points per bucket) is answered from one cache line.
        // The bucket index, the points and the owners were three dependent loads, which left the lookup 1.5-1.6x
        // slower at N = 1000 than at N = 10 (docs/benchmarks.md); Maglev's one load stayed flat. Unchecked reads:
        // there is one slot per bucket and the bucket is the point's top bits.
        ref BucketSlot slot = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_slots), (nint)(point >> _shift));
        if (point <= slot.Second)
        {
            return point <= slot.First ? slot.FirstOwner : slot.SecondOwner;
        }

        return OwnerPastSecondPoint(point);
    }

    /// <summary>The position of the first point at or after <paramref name="point"/>, wrapping to 0. The ring must not be empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int FindPosition(uint point)
        // The bucket index holds, for every value of the top bits, the first ring position in that bucket; buckets
        // average 1-2 points, where a binary search makes log2(n) dependent loads. Lookups use the slots (OwnerOf).
        => ScanBucket(point, skip: 0);

    // A key above its bucket's second point: the bucket has three or more points; scan from the third.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int OwnerPastSecondPoint(uint point)
        => Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_owners), ScanBucket(point, skip: 2));

    // The position of the first point at or after `point` in its bucket, from the bucket's `skip`-th point on; the
    // bucket's end (the next bucket's first point, or 0 past the last point) when every point there is below it.
    // Unchecked reads: the index has 2^bits + 1 entries, every one a valid position.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ScanBucket(uint point, int skip)
    {
        ref int starts = ref MemoryMarshal.GetArrayDataReference(_bucketStarts);
        ref uint points = ref MemoryMarshal.GetArrayDataReference(_points);
        nint bucket = (nint)(point >> _shift);
        nint position = Unsafe.Add(ref starts, bucket) + skip;
        nint end = Unsafe.Add(ref starts, bucket + 1);
        while (position < end && Unsafe.Add(ref points, position) < point)
        {
            position++;
        }

        return position == _points.Length ? 0 : (int)position;
    }

    /// <summary>The ring point of replica <paramref name="replica"/> of the endpoint with UTF-8 key <paramref name="keyUtf8"/>.</summary>
    public static uint ReplicaPoint(ReadOnlySpan<byte> keyUtf8, int replica)
    {
        Span<byte> keyAndReplica = stackalloc byte[keyUtf8.Length + sizeof(int)];
        keyUtf8.CopyTo(keyAndReplica);
        BinaryPrimitives.WriteInt32LittleEndian(keyAndReplica[keyUtf8.Length..], replica);
        return PointOf(KeyHasher.Hash(keyAndReplica));
    }

    /// <summary>
    /// Builds the ring for a new endpoint set, reusing the points of endpoints that stay unchanged
    /// so that adding or removing one endpoint costs one linear merge, not a rehash or a re-sort.
    /// </summary>
    /// <param name="previous">The ring of the previous set.</param>
    /// <param name="previousToNext">For each previous owner, its index in the new set, or -1 when its points must go (removed or reweighted).</param>
    /// <param name="added">The new endpoints whose points must be hashed, with their index in the new set.</param>
    /// <param name="virtualNodes">Points per unit of weight.</param>
    /// <exception cref="ArgumentException">The ring would exceed <see cref="MaxPoints"/>.</exception>
    public static HashRing Build(HashRing previous, ReadOnlySpan<int> previousToNext, ReadOnlySpan<(int Owner, Endpoint Endpoint)> added, int virtualNodes)
    {
        // Step 1 – count, refusing rings that would not fit before allocating anything.
        ReadOnlySpan<int> previousOwners = previous._owners;
        long keptCount = 0;
        for (int i = 0; i < previousOwners.Length; i++)
        {
            if (previousToNext[previousOwners[i]] >= 0)
            {
                keptCount++;
            }
        }

        long addedCount = 0;
        foreach ((int _, Endpoint endpoint) in added)
        {
            addedCount += (long)endpoint.Weight * virtualNodes;
        }

        long count = keptCount + addedCount;
        if (count > MaxPoints)
        {
            throw new ArgumentException(
                $"The hash ring would hold {count} points (the sum of weight × virtual nodes); at most {MaxPoints} are accepted. Lower the virtual nodes per endpoint or the weights.");
        }

        if (count == 0)
        {
            return Empty;
        }

        ulong[] addedEntries = ArrayPool<ulong>.Shared.Rent((int)addedCount);
        try
        {
            // Step 2 – hash the replicas of added endpoints as (point, owner) pairs packed into one
            // sortable 64-bit value, and sort them.
            Span<ulong> fresh = addedEntries.AsSpan(0, (int)addedCount);
            HashReplicas(added, virtualNodes, fresh);
            Sort(fresh);

            // Step 3 – merge them with the kept points. Kept points stay in ring order after their owners
            // are renumbered, because owner numbers follow ordinal key order in both sets.
            // The merge writes every element, so the arrays need not be zeroed first.
            uint[] points = GC.AllocateUninitializedArray<uint>((int)count);
            int[] owners = GC.AllocateUninitializedArray<int>((int)count);
            MergeKeptWithFresh(previous, previousToNext, fresh, points, owners);

            // Step 4 – the bucket index over the top bits, in one pass, then each bucket's slot.
            (int[] starts, int shift) = BuildBucketIndex(points);
            return new HashRing(points, owners, starts, BuildSlots(points, owners, starts, shift), shift);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(addedEntries);
        }
    }

    private static void HashReplicas(ReadOnlySpan<(int Owner, Endpoint Endpoint)> added, int virtualNodes, Span<ulong> destination)
    {
        // The key bytes are written once; each replica only rewrites the 4 bytes after them.
        Span<byte> keyAndReplica = stackalloc byte[1024];
        int written = 0;
        foreach ((int owner, Endpoint endpoint) in added)
        {
            int keyLength = Encoding.UTF8.GetBytes(endpoint.Key, keyAndReplica);
            Span<byte> replicaBytes = keyAndReplica.Slice(keyLength, sizeof(int));
            ReadOnlySpan<byte> hashed = keyAndReplica[..(keyLength + sizeof(int))];
            int replicas = endpoint.Weight * virtualNodes;
            for (int replica = 0; replica < replicas; replica++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(replicaBytes, replica);
                destination[written++] = Pack(PointOf(KeyHasher.Hash(hashed)), owner);
            }
        }
    }

    private static void MergeKeptWithFresh(HashRing previous, ReadOnlySpan<int> previousToNext, ReadOnlySpan<ulong> fresh, uint[] points, int[] owners)
    {
        // PERF: one pass over the previous ring. Fresh entries are few on an incremental update, so the
        // loop compares each kept point only with the next pending fresh entry, held in a register.
        ReadOnlySpan<uint> previousPoints = previous._points;
        ReadOnlySpan<int> previousOwners = previous._owners;
        int next = 0;
        int written = 0;
        ulong pending = fresh.IsEmpty ? ulong.MaxValue : fresh[0];
        for (int i = 0; i < previousPoints.Length; i++)
        {
            int owner = previousToNext[previousOwners[i]];
            if (owner < 0)
            {
                continue;
            }

            uint point = previousPoints[i];
            ulong kept = Pack(point, owner);
            while (pending < kept)
            {
                points[written] = PointOfEntry(pending);
                owners[written] = OwnerOfEntry(pending);
                written++;
                pending = ++next < fresh.Length ? fresh[next] : ulong.MaxValue;
            }

            points[written] = point;
            owners[written] = owner;
            written++;
        }

        for (; next < fresh.Length; next++)
        {
            points[written] = PointOfEntry(fresh[next]);
            owners[written] = OwnerOfEntry(fresh[next]);
            written++;
        }
    }

    private static (int[] Starts, int Shift) BuildBucketIndex(uint[] points)
    {
        // 2^⌊log2 n⌋ buckets hold 1-2 points on average.
        int bits = Math.Clamp(BitOperations.Log2((uint)points.Length), MinBucketBits, MaxBucketBits);
        int shift = 32 - bits;
        int bucketCount = 1 << bits;
        // PERF: count the points of each bucket, then a prefix sum turns counts into starts. Both passes
        // are sequential and branch-free; a "fill buckets up to this point's" loop mispredicts its exit.
        int[] starts = new int[bucketCount + 1];
        foreach (uint point in points)
        {
            starts[(point >> shift) + 1]++;
        }

        for (int bucket = 1; bucket <= bucketCount; bucket++)
        {
            starts[bucket] += starts[bucket - 1];
        }

        return (starts, shift);
    }

    private static BucketSlot[] BuildSlots(uint[] points, int[] owners, int[] starts, int shift)
    {
        // A bucket's missing points read as its last value, so every key of the bucket is at or below them: an empty
        // bucket answers every key with the first point after it, a one-point bucket keys above its point with the
        // next one. Positions wrap past the last point to the first.
        // PERF: one sequential pass; positions wrap by comparison (a division per bucket doubled an update's cost).
        int count = points.Length;
        var slots = GC.AllocateUninitializedArray<BucketSlot>(starts.Length - 1);
        int start = starts[0];
        for (int bucket = 0; bucket < slots.Length; bucket++)
        {
            int end = starts[bucket + 1];
            uint last = (uint)((((ulong)bucket + 1) << shift) - 1);
            int first = start < count ? start : 0;
            int second = first + 1 < count ? first + 1 : 0;
            slots[bucket] = new BucketSlot(
                end > start ? points[start] : last,
                end > start + 1 ? points[start + 1] : last,
                owners[first],
                owners[second]);
            start = end;
        }

        return slots;
    }

    private static void Sort(Span<ulong> entries)
    {
        // PERF: a full build sorts 160,000 entries at N = 1000. A counting sort on the top bits of the
        // point (uniform, since they are hash bits) then an insertion sort inside each small bucket is
        // linear; introsort is only used for the few hundred entries of an incremental update.
        const int CountingSortThreshold = 4096;
        if (entries.Length < CountingSortThreshold)
        {
            entries.Sort();
            return;
        }

        int bits = Math.Clamp(BitOperations.Log2((uint)entries.Length), MinBucketBits, MaxBucketBits);
        int shift = 32 - bits;
        int bucketCount = 1 << bits;
        int[] cursors = ArrayPool<int>.Shared.Rent(bucketCount + 1);
        ulong[] scattered = ArrayPool<ulong>.Shared.Rent(entries.Length);
        try
        {
            Span<int> starts = cursors.AsSpan(0, bucketCount + 1);
            starts.Clear();
            foreach (ulong entry in entries)
            {
                starts[(int)(PointOfEntry(entry) >> shift) + 1]++;
            }

            for (int bucket = 1; bucket <= bucketCount; bucket++)
            {
                starts[bucket] += starts[bucket - 1];
            }

            // Scatter using starts[bucket] as the write cursor; afterwards starts[bucket] is the end of
            // the bucket, i.e. the start of the next one.
            foreach (ulong entry in entries)
            {
                scattered[starts[(int)(PointOfEntry(entry) >> shift)]++] = entry;
            }

            scattered.AsSpan(0, entries.Length).CopyTo(entries);
            int begin = 0;
            for (int bucket = 0; bucket < bucketCount; bucket++)
            {
                int end = starts[bucket];
                InsertionSort(entries[begin..end]);
                begin = end;
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(cursors);
            ArrayPool<ulong>.Shared.Return(scattered);
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

    private static int OwnerOfEntry(ulong entry) => (int)(uint)entry;

    /// <summary>A bucket's first two points (its last value where it has fewer) and the owners that answer keys up to each.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct BucketSlot(uint first, uint second, int firstOwner, int secondOwner)
    {
        public readonly uint First = first;
        public readonly uint Second = second;
        public readonly int FirstOwner = firstOwner;
        public readonly int SecondOwner = secondOwner;
    }
}
