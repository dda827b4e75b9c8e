using System.Runtime.CompilerServices;

namespace LockFree.Balancing.Load;

/// <summary>
/// The turn counter of round robin and of keyless picks on key-placing pickers: one padded line while threads take
/// turns one at a time, one line per processor from the first collision on.
/// </summary>
/// <remarks>
/// <para>
/// Until two threads collide (a failed compare-and-swap), every turn comes from one counter, so the rotation is exact
/// across threads: every caller owns a distinct value, and a single-threaded caller sees the cycle in order. After a
/// collision the counter spreads over <see cref="ProcessorStripes.Count"/> cells for good (contention that happened
/// once is the workload's shape): each cell continues the rotation from where the shared counter stood, offset by a
/// golden-ratio step so the cells start at different points of the cycle. Each cell's rotation is then exact on its
/// own, so every endpoint stays within one turn per cell of its share.
/// </para>
/// <para>
/// A mutable struct held in a field of its owner and used through that field only (never copied): the owner's
/// line layout keeps the shared counter on a line of its own.
/// </para>
/// </remarks>
internal struct TurnCursor
{
    // 2^32 / φ: consecutive multiples land far apart in any cycle length.
    private const uint CellOffset = 0x9E3779B9;

    private PaddedCounter _shared;
    private PaddedCounter[]? _cells;

    /// <summary>True once the counter has spread over per-processor cells.</summary>
    public bool IsSpread => Volatile.Read(ref _cells) is not null;

    /// <summary>The next turn: distinct per caller until the first collision, then distinct per cell.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Next()
    {
        PaddedCounter[]? cells = Volatile.Read(ref _cells);
        if (cells is null)
        {
            int current = Volatile.Read(ref _shared.Value);
            int seen = Interlocked.CompareExchange(ref _shared.Value, current + 1, current);
            if (seen == current)
            {
                return (uint)current;
            }

            cells = Spread();
        }

        return (uint)Interlocked.Increment(ref ProcessorStripes.Cell(cells).Value) - 1;
    }

    /// <summary>Spreads the counter over its cells, as the first collision does (tests call it to reach that state).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal PaddedCounter[] Spread()
    {
        int from = Volatile.Read(ref _shared.Value);
        var created = new PaddedCounter[ProcessorStripes.Count];
        for (int cell = 0; cell < created.Length; cell++)
        {
            created[cell].Value = from + (int)(CellOffset * (uint)cell);
        }

        return Interlocked.CompareExchange(ref _cells, created, null) ?? created;
    }
}
