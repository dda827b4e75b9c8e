using LockFree.Balancing.Load;
using Xunit;

namespace LockFree.Balancing.Tests.Load;

/// <summary>
/// The shared counters that spread over per-processor cells once two threads collide on them: the turn cursor of
/// round robin and keyless picks, and the bounded-load in-flight total.
/// </summary>
public sealed class ProcessorCellCounterTests
{
    private sealed class CursorHolder
    {
        public TurnCursor Cursor;
    }

    [Fact]
    public void TurnCursor_BeforeACollision_HandsOutConsecutiveTurnsFromZero()
    {
        CursorHolder holder = new();
        uint[] turns = [.. Enumerable.Range(0, 5).Select(_ => holder.Cursor.Next())];

        Assert.Equal([0u, 1u, 2u, 3u, 4u], turns);
        Assert.False(holder.Cursor.IsSpread);
    }

    [Fact]
    public void TurnCursor_Spread_EveryCellContinuesFromTheSharedPositionAtItsOwnOffset()
    {
        CursorHolder holder = new();
        for (int i = 0; i < 10; i++)
        {
            holder.Cursor.Next();
        }

        PaddedCounter[] cells = holder.Cursor.Spread();

        Assert.True(holder.Cursor.IsSpread);
        Assert.Equal(ProcessorStripes.Count, cells.Length);
        Assert.Equal(10, cells[0].Value);
        Assert.Equal(cells.Length, cells.Select(c => c.Value).Distinct().Count());
        Assert.Same(cells, holder.Cursor.Spread()); // a second spread (another colliding thread) keeps the first cells
    }

    [Fact]
    public void TurnCursor_SpreadManyThreads_EveryResidueWithinOneTurnPerCellOfItsShare()
    {
        // Each cell counts up on its own, so the turns of one cell cover every residue of a cycle evenly; over all
        // cells a residue is off by at most one turn per cell.
        CursorHolder holder = new();
        holder.Cursor.Spread();
        const int Cycle = 7;
        const int TurnsPerThread = 70_001;
        int threads = Math.Max(2, Environment.ProcessorCount);
        long[][] residues = new long[threads][];

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            long[] local = new long[Cycle];
            for (int i = 0; i < TurnsPerThread; i++)
            {
                local[holder.Cursor.Next() % Cycle]++;
            }

            residues[t] = local;
        });

        long total = (long)TurnsPerThread * threads;
        for (int residue = 0; residue < Cycle; residue++)
        {
            long count = residues.Sum(r => r[residue]);
            Assert.InRange(count, (total / Cycle) - ProcessorStripes.Count, ((total + Cycle - 1) / Cycle) + ProcessorStripes.Count);
        }
    }

    [Fact]
    public void InFlightTotal_BeforeACollision_ReserveReturnsTheTotalIncludingThisRequest()
    {
        InFlightTotal total = new();
        total.Add(5);

        Assert.Equal(6, total.Reserve());
        Assert.Equal(7, total.Reserve());
        total.Release();
        Assert.Equal(6, total.Current);
        Assert.False(total.IsSpread);
    }

    [Fact]
    public void InFlightTotal_Spread_ReserveLeavesTheSumUnreadAndCurrentCountsEverything()
    {
        InFlightTotal total = new();
        total.Add(3);
        total.Reserve();
        total.Spread();

        Assert.True(total.IsSpread);
        Assert.Equal(InFlightTotal.NotSummed, total.Reserve());
        Assert.Equal(5, total.Current);
        total.Add(-2); // an endpoint with two requests left the set
        total.Release();
        Assert.Equal(2, total.Current);
    }

    [Fact]
    public async Task InFlightTotal_SpreadManyThreadsReleasingOnOtherProcessors_SumIsExactAtRest()
    {
        // Requests reserved on one thread and released on another land in different cells (a cell can go negative):
        // the sum is exact whenever nothing is in flight, and never negative while requests are.
        InFlightTotal total = new();
        total.Spread();
        int threads = Math.Max(2, Environment.ProcessorCount);
        System.Collections.Concurrent.BlockingCollection<int> handoff = new(boundedCapacity: 1024);
        int negativeSeen = 0;

        Task producers = Task.WhenAll(Enumerable.Range(0, threads).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 50_000; i++)
            {
                total.Reserve();
                handoff.Add(i);
            }
        })));
        Task consumer = Task.Run(() =>
        {
            foreach (int _ in handoff.GetConsumingEnumerable())
            {
                if (total.Current < 0)
                {
                    Interlocked.Increment(ref negativeSeen);
                }

                total.Release();
            }
        });

        await producers.WaitAsync(TimeSpan.FromSeconds(30));
        handoff.CompleteAdding();
        await consumer.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, total.Current);
        Assert.Equal(0, negativeSeen);
    }
}
