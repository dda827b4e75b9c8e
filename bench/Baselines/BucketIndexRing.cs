using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LockFree.Balancing.Ring;

namespace LockFree.Balancing.Benchmarks.Baselines;

/// <summary>
/// The library's ring lookup before the packed layout (commit 2a2ef9e, <c>HashRing.FindPosition</c>), kept
/// as the baseline the new lookup is measured against in the same run: three arrays (sorted points, a
/// bucket index of 2^⌊log2 n⌋ starts over the top bits, owners), three dependent loads per lookup.
/// </summary>
/// <remarks>Built from a library <see cref="HashRing"/>'s points and owners, so it answers the same owner for every point.</remarks>
internal sealed class BucketIndexRing
{
    private readonly uint[] _points;
    private readonly int[] _owners;
    private readonly int[] _bucketStarts;
    private readonly int _shift;

    public BucketIndexRing(HashRing ring)
    {
        _points = ring.Points.ToArray();
        _owners = ring.Owners.ToArray();
        int bits = Math.Clamp(BitOperations.Log2((uint)_points.Length), 1, 24);
        _shift = 32 - bits;
        int bucketCount = 1 << bits;
        _bucketStarts = new int[bucketCount + 1];
        foreach (uint point in _points)
        {
            _bucketStarts[(point >> _shift) + 1]++;
        }

        for (int bucket = 1; bucket <= bucketCount; bucket++)
        {
            _bucketStarts[bucket] += _bucketStarts[bucket - 1];
        }
    }

    /// <summary>Bytes the lookup structures take (points, owners, index).</summary>
    public long Bytes => (_points.Length * 4L) + (_owners.Length * 4L) + (_bucketStarts.Length * 4L);

    /// <summary>The owner of the first point at or after <paramref name="point"/>, wrapping. The ring must not be empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int OwnerOf(uint point)
    {
        ref int starts = ref MemoryMarshal.GetArrayDataReference(_bucketStarts);
        ref uint points = ref MemoryMarshal.GetArrayDataReference(_points);
        nint bucket = (nint)(point >> _shift);
        nint position = Unsafe.Add(ref starts, bucket);
        nint end = Unsafe.Add(ref starts, bucket + 1);
        while (position < end && Unsafe.Add(ref points, position) < point)
        {
            position++;
        }

        return Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_owners), position == _points.Length ? 0 : position);
    }
}
