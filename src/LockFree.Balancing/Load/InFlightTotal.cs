using System.Runtime.CompilerServices;

namespace LockFree.Balancing.Load;

/// <summary>
/// The number of requests in flight on the pickable endpoints of the current set (plus reservations of placements
/// in progress), kept as a counter so the bounded-load capacity check is O(1) (HAProxy keeps its <c>served</c> total
/// the same way).
/// </summary>
/// <remarks>
/// <para>
/// Shared by every <see cref="EndpointState"/> of one balancer and by every snapshot it publishes,
/// so it survives snapshot swaps. Requests on removed (draining) or weight-0 endpoints are not in it:
/// <see cref="EndpointState.Detach"/> takes them out, and their releases do not return a slot. Only balancers that
/// bound loads keep it: for the others the two extra atomic operations per request would buy nothing.
/// </para>
/// <para>
/// One padded line until two threads collide on it (a failed compare-and-swap), then one cell per processor for good
/// (<see cref="ProcessorStripes"/>): a reservation adds to its processor's cell, a release takes
/// one from its processor's cell (cells may go negative; only the sum means anything), and the writer's
/// <see cref="Add"/> goes to the shared line, which stays part of the sum. A placement reads the sum only when its
/// endpoint is busy (an idle endpoint admits under any total, the capacity being never below 1), so placements
/// onto idle endpoints touch no other processor's line. The sum reads the cells one after the
/// other, so under concurrent placements it is the total of no single instant: it can miss a request placed during
/// the read (a tighter cap for this placement) or count one whose release landed in a cell already read (one looser
/// slot). The one-line total had the same slack against the per-endpoint counts it is compared with; the per-endpoint
/// compare-and-swap keeps each admission exact for the total it read.
/// </para>
/// </remarks>
internal sealed class InFlightTotal
{
    private PaddedCounter _shared;
    private PaddedCounter[]? _cells;

    /// <summary>True once the total has spread over per-processor cells.</summary>
    public bool IsSpread => Volatile.Read(ref _cells) is not null;

    /// <summary>The current total: one volatile read, or the sum of the cells once spread.</summary>
    public int Current => Volatile.Read(ref _cells) is { } cells ? Sum(cells) : Volatile.Read(ref _shared.Value);

    /// <summary>What <see cref="Reserve"/> returns once spread: the slot is reserved, the sum not read.</summary>
    public const int NotSummed = -1;

    /// <summary>
    /// Reserves one slot and returns the total including it, or <see cref="NotSummed"/> once spread: the caller reads
    /// <see cref="Current"/> only if it needs the total (an idle endpoint admits under any total).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Reserve()
    {
        PaddedCounter[]? cells = Volatile.Read(ref _cells);
        if (cells is null)
        {
            int current = Volatile.Read(ref _shared.Value);
            if (Interlocked.CompareExchange(ref _shared.Value, current + 1, current) == current)
            {
                return current + 1;
            }

            cells = Spread();
        }

        // PERF: the sum reads every other processor's cell, a line that processor writes on each placement; reading
        // it on every placement would bring back the traffic the cells exist to avoid.
        Interlocked.Increment(ref ProcessorStripes.Cell(cells).Value);
        return NotSummed;
    }

    /// <summary>Adds the requests of an endpoint that joined (positive) or left (negative) the pickable set.</summary>
    public void Add(int delta) => Interlocked.Add(ref _shared.Value, delta);

    /// <summary>Returns one slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Release()
    {
        PaddedCounter[]? cells = Volatile.Read(ref _cells);
        if (cells is null)
        {
            int current = Volatile.Read(ref _shared.Value);
            if (Interlocked.CompareExchange(ref _shared.Value, current - 1, current) == current)
            {
                return;
            }

            cells = Spread();
        }

        Interlocked.Decrement(ref ProcessorStripes.Cell(cells).Value);
    }

    private int Sum(PaddedCounter[] cells)
    {
        int sum = Volatile.Read(ref _shared.Value);
        for (int cell = 0; cell < cells.Length; cell++)
        {
            sum += Volatile.Read(ref cells[cell].Value);
        }

        return sum;
    }

    /// <summary>Spreads the total over its cells, as the first collision does (tests call it to reach that state).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal PaddedCounter[] Spread()
        => Interlocked.CompareExchange(ref _cells, new PaddedCounter[ProcessorStripes.Count], null) ?? Volatile.Read(ref _cells)!;
}
