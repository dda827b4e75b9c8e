using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LockFree.Balancing.Ring;

namespace LockFree.Balancing.Benchmarks.Baselines;

/// <summary>
/// <see cref="HashRing"/>'s lookup before its bucket slots: the bucket index over the top bits, then a scan of the
/// sorted points, then the owners array (three dependent loads), over the same ring. The baseline the slots are
/// measured against.
/// </summary>
internal sealed class ThreeArrayRing
{
    private readonly uint[] _points;
    private readonly int[] _owners;
    private readonly int[] _starts;
    private readonly int _shift;

    public ThreeArrayRing(HashRing ring)
    {
        _points = ring.Points.ToArray();
        _owners = ring.Owners.ToArray();
        int bits = Math.Clamp(BitOperations.Log2((uint)_points.Length), 1, 24);
        _shift = 32 - bits;
        _starts = new int[(1 << bits) + 1];
        foreach (uint point in _points)
        {
            _starts[(point >> _shift) + 1]++;
        }

        for (int bucket = 1; bucket < _starts.Length; bucket++)
        {
            _starts[bucket] += _starts[bucket - 1];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int OwnerOf(uint point)
    {
        ref int starts = ref MemoryMarshal.GetArrayDataReference(_starts);
        ref uint points = ref MemoryMarshal.GetArrayDataReference(_points);
        nint bucket = (nint)(point >> _shift);
        nint position = Unsafe.Add(ref starts, bucket);
        nint end = Unsafe.Add(ref starts, bucket + 1);
        while (position < end && Unsafe.Add(ref points, position) < point)
        {
            position++;
        }

        return Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_owners), position == _points.Length ? 0 : (int)position);
    }
}
