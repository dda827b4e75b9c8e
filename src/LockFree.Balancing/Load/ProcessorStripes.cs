using System.Numerics;
using System.Runtime.CompilerServices;

namespace LockFree.Balancing.Load;

/// <summary>
/// The per-processor cells that a counter spreads over once two threads have collided on it
/// (<see cref="TurnCursor"/>, <see cref="InFlightTotal"/>): the idea of Java's <c>LongAdder</c>, with cells chosen by
/// the processor the caller runs on, as the runtime's <c>ArrayPool</c> and <c>ConcurrentQueue</c> segments do.
/// </summary>
/// <remarks>
/// PERF: measured on 2 cores (docs/benchmarks.md, "Multi-threaded picks"), one shared line taken by two cores at once
/// cost the round-robin pick 5.9–7.3× its CPU time and the bounded acquire 1.8–2.4×, so that two threads picked fewer
/// requests per second than one. A cell per processor keeps each core on its own line. The count is a power of two,
/// at most <see cref="MaxCells"/>: a sum reads every cell, and beyond 16 lines that read costs more than the
/// collisions it avoids.
/// </remarks>
internal static class ProcessorStripes
{
    /// <summary>The most cells a counter spreads over.</summary>
    public const int MaxCells = 16;

    /// <summary>Cells per spread counter: the processor count rounded up to a power of two, at most <see cref="MaxCells"/>.</summary>
    public static readonly int Count = (int)Math.Min(BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, Environment.ProcessorCount)), MaxCells);

    /// <summary>The cell of the processor this thread runs on now (a thread that moves takes another cell: harmless).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref PaddedCounter Cell(PaddedCounter[] cells)
        => ref cells[Thread.GetCurrentProcessorId() & (cells.Length - 1)];
}
