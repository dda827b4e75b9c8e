using System.Runtime.CompilerServices;

namespace LockFree.Balancing.Load;

/// <summary>
/// A bounded-load capacity ⌈limit / scale⌉, never below 1, checked without dividing.
/// </summary>
/// <remarks>
/// PERF: for an integer load, <c>load &lt; ⌈q⌉ ⇔ load &lt; q</c>, so <c>load &lt; ⌈limit / scale⌉ ⇔
/// load · scale &lt; limit</c>: one multiplication instead of a 64-bit division (tens of cycles) on
/// every acquire. The product is taken in 128 bits, so no operand range can overflow it.
/// </remarks>
internal readonly struct LoadCapacity
{
    private readonly ulong _limit;
    private readonly ulong _scale;

    /// <param name="limit">c (in thousandths) · total · weight.</param>
    /// <param name="scale">1000 · total weight.</param>
    public LoadCapacity(long limit, long scale)
    {
        _limit = (ulong)limit;
        _scale = (ulong)scale;
    }

    /// <summary>
    /// True when one more request fits: the load is below the capacity, or 0 (the capacity is never 0). A load
    /// below 0 cannot happen (releases never go below 0); were it to, it admits rather than read as a huge
    /// unsigned load that would shut the endpoint out for good.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Admits(int load)
    {
        ulong high = Math.BigMul((ulong)load, _scale, out ulong low);
        return load <= 0 || (high == 0 && low < _limit);
    }

    /// <summary>The capacity as a number, for diagnostics and tests.</summary>
    public long Value => Math.Max(1, (long)((_limit + _scale - 1) / _scale));
}
