using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LockFree.Balancing.Ring;

namespace LockFree.Balancing.Benchmarks.Baselines;

/// <summary>
/// The textbook ring lookups over a sorted <c>uint[]</c> of points and a parallel owner array, built from a
/// library <see cref="HashRing"/> so that they answer the same owner: <see cref="BinarySearchOwnerOf"/>
/// (<see cref="Array.BinarySearch{T}(T[], T)"/>, branchy) and <see cref="BranchlessOwnerOf"/> (a branchless
/// lower bound: the loop runs exactly ⌈log2 n⌉ times and each step is a conditional move, so nothing
/// mispredicts; the loads still depend on each other).
/// </summary>
internal sealed class LowerBoundRing
{
    private readonly uint[] _points;
    private readonly int[] _owners;

    public LowerBoundRing(HashRing ring)
    {
        _points = ring.Points.ToArray();
        _owners = ring.Owners.ToArray();
    }

    /// <summary><see cref="Array.BinarySearch{T}(T[], T)"/>, then the successor, wrapping to 0.</summary>
    public int BinarySearchOwnerOf(uint point)
    {
        int index = Array.BinarySearch(_points, point);
        if (index < 0)
        {
            index = ~index;
        }

        // BinarySearch finds any of equal points; the ring's owner is the first of them.
        while (index > 0 && index < _points.Length && _points[index - 1] == point)
        {
            index--;
        }

        return _owners[index == _points.Length ? 0 : index];
    }

    /// <summary>Branchless lower bound (the first point at or after <paramref name="point"/>), wrapping to 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int BranchlessOwnerOf(uint point)
    {
        ref uint points = ref MemoryMarshal.GetArrayDataReference(_points);
        nint first = 0;
        nint length = _points.Length;
        while (length > 1)
        {
            nint half = length >> 1;
            // PERF: a select, not a branch: the JIT emits cmov for this shape.
            first = Unsafe.Add(ref points, first + half) < point ? first + half : first;
            length -= half;
        }

        first += Unsafe.Add(ref points, first) < point ? 1 : 0;
        return Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_owners), first == _points.Length ? 0 : first);
    }
}
