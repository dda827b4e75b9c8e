using System.Runtime.InteropServices;

namespace LockFree.Balancing.Load;

/// <summary>
/// A 32-bit counter alone on its cache line, so threads hammering neighbouring counters
/// do not invalidate each other's lines (false sharing).
/// </summary>
/// <remarks>
/// PERF: 128 bytes with the value in the middle covers both 64-byte lines and the
/// adjacent-line prefetcher that pulls lines in pairs (the runtime's PaddedCounter does the same).
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 2 * CacheLineSize)]
internal struct PaddedCounter
{
    internal const int CacheLineSize = 64;

    [FieldOffset(CacheLineSize)]
    public int Value;
}
