using System.Diagnostics;
using Xunit;

namespace LockFree.Balancing.Tests.Concurrency;

/// <summary>
/// Bounded-time races: pickers acquire and release on several threads while another thread replaces
/// the endpoint set thousands of times, removing and re-adding keys with leases outstanding. Afterwards
/// no exception escaped and every key's counter is exactly 0: a release that reached another counter than
/// its acquire (or none) would leave one key above 0 or below it.
/// </summary>
public sealed class RaceTests
{
    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void AcquireRelease_WhileSetChangesThousandsOfTimes_CountsReturnToZero(string picker)
        => RaceUpdatesAgainstAcquires(LoadBalancerTests.Create(picker, maglevTableSize: 4099), TestEndpoints.Distinct(24, seed: 41));

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void AcquireRelease_CountersSpreadOverProcessors_WhileSetChangesThousandsOfTimes_CountsReturnToZero(string picker)
    {
        // The state two colliding threads leave behind: cursors and the in-flight total in per-processor cells.
        LoadBalancer balancer = LoadBalancerTests.Create(picker, maglevTableSize: 4099);
        balancer.SpreadCounters();
        RaceUpdatesAgainstAcquires(balancer, TestEndpoints.Distinct(24, seed: 45));
    }

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void AcquireRelease_WithTopologyWhileSetChangesThousandsOfTimes_CountsReturnToZero(string picker)
    {
        // Zones by position, so that each update changes the local set too (sometimes to empty).
        Endpoint[] universe = [.. TestEndpoints.Distinct(24, seed: 44).Select((e, i) => new Endpoint(e.Host, e.Port, zone: $"zone-{i % 3}"))];
        LoadBalancer balancer = LoadBalancerTests.Create(
            picker,
            maglevTableSize: 4099,
            configure: options => options.Topology = new TopologyOptions { LocalZone = "zone-0" });
        RaceUpdatesAgainstAcquires(balancer, universe);
    }

    private static void RaceUpdatesAgainstAcquires(LoadBalancer balancer, Endpoint[] universe)
    {
        balancer.Update(universe);
        const int Updates = 3000;
        int workers = Math.Max(3, Environment.ProcessorCount + 1);
        using CancellationTokenSource stop = new(TimeSpan.FromSeconds(60));
        ConcurrentBagOfErrors errors = new();
        long[] acquiredPerWorker = new long[workers];
        int updatesDone = 0;

        Thread writer = new(() =>
        {
            try
            {
                Random random = new(42);
                for (int i = 0; i < Updates && !stop.IsCancellationRequested; i++)
                {
                    Endpoint[] next = universe.Where(_ => random.Next(4) > 0).Select(e => e.WithWeight(random.Next(0, 3))).ToArray();
                    balancer.Update(next);
                    Interlocked.Increment(ref updatesDone);
                }
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        });

        Thread[] readers = Enumerable.Range(0, workers).Select(w => new Thread(() =>
        {
            try
            {
                Random random = new(w);
                Queue<EndpointLease> held = new();
                while (Volatile.Read(ref updatesDone) < Updates && !stop.IsCancellationRequested)
                {
                    if (balancer.TryAcquire($"key-{random.Next(1000)}", out EndpointLease lease))
                    {
                        held.Enqueue(lease);
                        acquiredPerWorker[w]++;
                    }

                    if (held.Count > random.Next(1, 8))
                    {
                        held.Dequeue().Dispose();
                    }
                }

                while (held.Count > 0)
                {
                    held.Dequeue().Dispose();
                }
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        })).ToArray();

        Stopwatch elapsed = Stopwatch.StartNew();
        writer.Start();
        Array.ForEach(readers, r => r.Start());
        Assert.True(writer.Join(TimeSpan.FromSeconds(90)), "writer did not finish in time");
        Assert.All(readers, r => Assert.True(r.Join(TimeSpan.FromSeconds(90)), "reader did not finish in time"));

        Assert.Empty(errors.Items);
        Assert.False(stop.IsCancellationRequested, $"the race ran out of time after {elapsed.Elapsed}");
        Assert.Equal(Updates, updatesDone);
        Assert.True(acquiredPerWorker.Sum() > 1000, $"only {acquiredPerWorker.Sum()} acquires overlapped the updates");
        Assert.All(universe, e => Assert.Equal(0, balancer.InFlightOf(e.Key)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BoundedAcquire_ManyThreadsOneHotKey_NeverExceedsCapacityObservedAtPlacement(bool totalSpreadOverProcessors)
    {
        // Every thread holds up to 8 leases of one hot key and checks, right after each acquire, that
        // the endpoint's count does not exceed the capacity for the total it could have seen at most.
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { LoadFactor = 1.25 });
        Endpoint[] endpoints = TestEndpoints.Distinct(8, seed: 43);
        balancer.Update(endpoints);
        if (totalSpreadOverProcessors)
        {
            balancer.SpreadCounters();
        }

        int workers = Math.Max(4, Environment.ProcessorCount * 2);
        int maxHeld = 8;
        int maxTotal = workers * maxHeld;
        int bound = (int)Math.Ceiling(1.25 * maxTotal / endpoints.Length);
        ConcurrentBagOfErrors errors = new();

        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
        {
            Queue<EndpointLease> held = new();
            for (int i = 0; i < 20_000; i++)
            {
                EndpointLease lease = balancer.Acquire("hot");
                int load = balancer.CurrentSnapshot.States[Array.IndexOf(balancer.CurrentSnapshot.Endpoints, lease.Endpoint)].InFlight;
                if (load > bound)
                {
                    errors.Add(new InvalidOperationException($"{lease.Endpoint} holds {load} > {bound}"));
                }

                held.Enqueue(lease);
                if (held.Count >= maxHeld)
                {
                    held.Dequeue().Dispose();
                }
            }

            while (held.Count > 0)
            {
                held.Dequeue().Dispose();
            }
        });

        Assert.Empty(errors.Items);
        Assert.All(endpoints, e => Assert.Equal(0, balancer.InFlightOf(e.Key)));
    }

    private sealed class ConcurrentBagOfErrors
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<Exception> _items = new();

        public IReadOnlyCollection<Exception> Items => _items;

        public void Add(Exception error) => _items.Enqueue(error);
    }
}
