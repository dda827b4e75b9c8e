using System.Diagnostics;
using System.Reflection;
using LockFree.Balancing.Load;
using Xunit;
using Xunit.Abstractions;

namespace LockFree.Balancing.Tests.Soak;

/// <summary>
/// Many threads acquire, hold, release and fail leases while another thread changes the endpoint set continuously
/// and ejections start and end: at the end no lease is lost (every successful acquire was ended exactly once),
/// every in-flight counter is back at 0, and managed memory after a full GC is flat.
/// </summary>
/// <remarks>Opt-in length: see <see cref="SoakSettings"/> (<c>LOCKFREE_SOAK_SECONDS</c>).</remarks>
[Collection(SoakGroup.Name)]
public sealed class BalancerSoakTests
{
    // Above this growth between the two full-GC readings the balancer is keeping something per operation.
    private const long MaxRetainedGrowthBytes = 1024 * 1024;

    private static readonly PropertyInfo InFlightTotalProperty =
        typeof(LoadBalancer).GetProperty("InFlightTotal", BindingFlags.Instance | BindingFlags.NonPublic)!;

    private readonly ITestOutputHelper _output;

    public BalancerSoakTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public static TheoryData<string> Pickers => ["round-robin", "ring-bounded", "maglev-bounded", "p2c", "random", "ring-bounded-topology", "p2c-topology"];

    [Theory]
    [MemberData(nameof(Pickers))]
    public async Task Soak_AcquireReleaseFailWhileSetChurns_NoLeaseLostCountsZeroMemoryFlat(string picker)
    {
        LoadBalancer balancer = Create(picker);
        // Three zones: the topology pickers prefer zone-0, whose members the churn keeps changing.
        Endpoint[] pool = [.. Enumerable.Range(1, 48).Select(i => new Endpoint($"10.1.{i / 200}.{i % 200}", 8080, zone: $"zone-{i % 3}"))];
        balancer.Update(pool.Take(16));

        // Step 1 – a short warm-up so that JIT, pools and thread statics exist before the first reading.
        await RunAsync(balancer, pool, TimeSpan.FromMilliseconds(300), seed: 1);
        long before = FullGcBytes();

        // Step 2 – the soak.
        SoakResult result = await RunAsync(balancer, pool, SoakSettings.Duration, seed: 2);
        long after = FullGcBytes();

        _output.WriteLine(
            $"{picker}: {result.Seconds:0.0} s, {result.Workers} workers, {result.Acquired:N0} acquires ({result.Acquired / result.Seconds:N0}/s), "
            + $"{result.Failed:N0} failed leases, {result.Refused:N0} refused acquires, {result.Updates:N0} set changes, "
            + $"managed memory after full GC {before:N0} -> {after:N0} bytes ({after - before:+#,0;-#,0;0})");

        Assert.Equal(result.Acquired, result.Ended);
        foreach (Endpoint endpoint in pool)
        {
            Assert.Equal(0, balancer.InFlightOf(endpoint.Key));
        }

        Assert.All(balancer.GetStatus(), status => Assert.Equal(0, status.InFlight));
        if (InFlightTotalProperty.GetValue(balancer) is InFlightTotal total)
        {
            Assert.Equal(0, total.Current);
        }

        Assert.True(result.Acquired > 1000, $"only {result.Acquired} acquires ran: the soak did not exercise anything");
        Assert.True(result.Updates > 10, $"only {result.Updates} set changes ran: the set did not churn");
        Assert.True(after - before < MaxRetainedGrowthBytes, $"managed memory grew by {after - before:N0} bytes over the soak");
    }

    private static LoadBalancer Create(string picker)
    {
        // Short ejections on the real clock, so that endpoints are ejected and return many times during the run.
        var ejection = new OutlierEjectionOptions { ConsecutiveFailures = 3, BaseEjectionTime = TimeSpan.FromMilliseconds(20), MaxEjectionTime = TimeSpan.FromMilliseconds(200), MaxEjectedShare = 0.5 };
        return picker switch
        {
            "round-robin" => new RoundRobinBalancer(new LoadBalancerOptions { OutlierEjection = ejection }),
            "ring-bounded" => new ConsistentHashBalancer(new ConsistentHashOptions { VirtualNodesPerEndpoint = 40, LoadFactor = 1.25, OutlierEjection = ejection }),
            "maglev-bounded" => new MaglevBalancer(new MaglevOptions { TableSize = 5003, LoadFactor = 1.25, OutlierEjection = ejection }),
            "p2c" => new PowerOfTwoChoicesBalancer(new PowerOfTwoChoicesOptions { OutlierEjection = ejection }),
            "ring-bounded-topology" => new ConsistentHashBalancer(new ConsistentHashOptions { VirtualNodesPerEndpoint = 40, LoadFactor = 1.25, OutlierEjection = ejection, Topology = new TopologyOptions { LocalZone = "zone-0" } }),
            "p2c-topology" => new PowerOfTwoChoicesBalancer(new PowerOfTwoChoicesOptions { OutlierEjection = ejection, Topology = new TopologyOptions { LocalZone = "zone-0" } }),
            _ => new RandomBalancer(new RandomOptions { OutlierEjection = ejection }),
        };
    }

    private static async Task<SoakResult> RunAsync(LoadBalancer balancer, Endpoint[] pool, TimeSpan duration, int seed)
    {
        int workers = Math.Max(4, Environment.ProcessorCount * 2);
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        // Dedicated threads, not pool work items: spinning workers on a 2-core pool (shared with the rest of the suite)
        // could keep the churn task from ever being scheduled, and then nothing churns.
        Task<WorkerCounts>[] acquirers = [.. Enumerable.Range(0, workers).Select(w => Task.Factory.StartNew(
            () => Worker(balancer, seed * 1000 + w, stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))];
        Task<long> churn = Task.Factory.StartNew(
            () => Churn(balancer, pool, seed, stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        stop.CancelAfter(duration);

        // Watchdog: a worker stuck in a placement loop (a liveness bug) fails the test instead of hanging it.
        Task all = Task.WhenAll([.. acquirers, churn]);
        Task finished = await Task.WhenAny(all, Task.Delay(duration + TimeSpan.FromSeconds(60)));
        Assert.True(finished == all, "a soak worker did not stop within 60 s of the deadline");
        await all;

        WorkerCounts[] counts = [.. acquirers.Select(t => t.Result)];
        return new SoakResult(
            clock.Elapsed.TotalSeconds,
            workers,
            counts.Sum(c => c.Acquired),
            counts.Sum(c => c.Ended),
            counts.Sum(c => c.Failed),
            counts.Sum(c => c.Refused),
            churn.Result);
    }

    private static WorkerCounts Worker(LoadBalancer balancer, int seed, CancellationToken stop)
    {
        var random = new Random(seed);
        var held = new EndpointLease[8];
        int holding = 0;
        long acquired = 0, ended = 0, failed = 0, refused = 0;
        Span<byte> key = stackalloc byte[8];
        while (!stop.IsCancellationRequested)
        {
            for (int i = 0; i < 256; i++)
            {
                // Acquire: by key (hashing pickers place it, bounded ones may spill it) or keyless.
                EndpointLease lease;
                bool ok;
                if (random.Next(2) == 0)
                {
                    BitConverter.TryWriteBytes(key, random.NextInt64(0, 1 << 20));
                    ok = balancer.TryAcquire(key, out lease);
                }
                else
                {
                    ok = balancer.TryAcquire(out lease);
                }

                if (!ok)
                {
                    refused++;
                }
                else
                {
                    acquired++;
                    if (holding == held.Length)
                    {
                        int victim = random.Next(holding);
                        End(ref held[victim], random, ref ended, ref failed);
                        held[victim] = held[--holding];
                        held[holding] = default;
                    }

                    held[holding++] = lease;
                }

                // End one held lease most of the time, so that a few stay out across set changes (draining).
                if (holding > 0 && random.Next(4) != 0)
                {
                    int at = random.Next(holding);
                    End(ref held[at], random, ref ended, ref failed);
                    held[at] = held[--holding];
                    held[holding] = default;
                }
            }
        }

        for (int i = 0; i < holding; i++)
        {
            End(ref held[i], random, ref ended, ref failed);
        }

        return new WorkerCounts(acquired, ended, failed, refused);
    }

    private static void End(ref EndpointLease lease, Random random, ref long ended, ref long failed)
    {
        Assert.True(lease.IsHeld, "a lease the worker holds is no longer held: it was lost");
        if (random.Next(10) == 0)
        {
            lease.Fail();
            failed++;
        }
        else
        {
            lease.Dispose();
        }

        ended++;
    }

    private static long Churn(LoadBalancer balancer, Endpoint[] pool, int seed, CancellationToken stop)
    {
        var random = new Random(seed);
        long updates = 0;
        while (!stop.IsCancellationRequested)
        {
            switch (random.Next(4))
            {
                case 0:
                    balancer.Add(pool[random.Next(pool.Length)].WithWeight(random.Next(0, 4)));
                    break;
                case 1:
                    balancer.Remove(pool[random.Next(pool.Length)]);
                    break;
                default:
                    balancer.Update(pool.Where(_ => random.Next(3) == 0).Select(e => e.WithWeight(random.Next(1, 4))));
                    break;
            }

            updates++;
            Thread.Sleep(random.Next(3)); // pacing only: a change every millisecond or two, not a wait for a condition
        }

        return updates;
    }

    private static long FullGcBytes()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private readonly record struct WorkerCounts(long Acquired, long Ended, long Failed, long Refused);

    private readonly record struct SoakResult(double Seconds, int Workers, long Acquired, long Ended, long Failed, long Refused, long Updates);
}
