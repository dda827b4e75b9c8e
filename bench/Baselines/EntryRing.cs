using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LockFree.Balancing.Ring;

namespace LockFree.Balancing.Benchmarks.Baselines;

/// <summary>
/// A candidate layout for <see cref="HashRing"/>'s lookup: one 64-bit entry per point, <c>(point &lt;&lt; 32) | owner</c>
/// (the build's own sort key), so the scan and the owner read share a cache line, with a bucket index of
/// 2^(⌊log2 n⌋ − <c>shrink</c>) buckets.
/// </summary>
internal sealed class EntryRing
{
    private readonly ulong[] _entries;
    private readonly int[] _starts;
    private readonly int _shift;

    public EntryRing(HashRing ring, int shrink)
    {
        ReadOnlySpan<uint> points = ring.Points;
        ReadOnlySpan<int> owners = ring.Owners;
        _entries = new ulong[points.Length];
        for (int i = 0; i < points.Length; i++)
        {
            _entries[i] = ((ulong)points[i] << 32) | (uint)owners[i];
        }

        int bits = Math.Clamp(BitOperations.Log2((uint)points.Length) - shrink, 1, 24);
        _shift = 32 - bits;
        _starts = new int[(1 << bits) + 1];
        foreach (uint point in points)
        {
            _starts[(point >> _shift) + 1]++;
        }

        for (int bucket = 1; bucket < _starts.Length; bucket++)
        {
            _starts[bucket] += _starts[bucket - 1];
        }
    }

    public int IndexBytes => _starts.Length * sizeof(int);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int OwnerOf(uint point)
    {
        ref int starts = ref MemoryMarshal.GetArrayDataReference(_starts);
        ref ulong entries = ref MemoryMarshal.GetArrayDataReference(_entries);
        nint bucket = (nint)(point >> _shift);
        nint position = Unsafe.Add(ref starts, bucket);
        nint end = Unsafe.Add(ref starts, bucket + 1);
        ulong key = (ulong)point << 32;
        while (position < end && Unsafe.Add(ref entries, position) < key)
        {
            position++;
        }

        return (int)(uint)Unsafe.Add(ref entries, position == _entries.Length ? 0 : position);
    }
}
