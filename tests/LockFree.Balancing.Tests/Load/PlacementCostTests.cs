using LockFree.Balancing.Load;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace LockFree.Balancing.Tests.Load;

/// <summary>
/// How many endpoint states a bounded placement reads (<see cref="StateReads"/>, counted on the test thread), so that
/// its cost in N is asserted by operation count, not by time: O(1) amortised while endpoints are ejected.
/// </summary>
public sealed class PlacementCostTests
{
    private const int N = 1000;
    private const int Acquires = 1000;

    [Theory]
    [InlineData("bounded-load")]
    [InlineData("maglev-bounded")]
    public void TryAcquire_AFifthOfThousandEjected_ReadsAFewStatesPerPlacementNotN(string picker)
    {
        // The benchmark's state (HardCaseBenchmarks.BoundedLoadAcquireEjected): every fifth endpoint ejected.
        Assert.True(StateReads.Enabled, $"The test project must set the runtime switch {StateReads.SwitchName}.");
        LoadBalancer balancer = LoadBalancerTests.Create(picker, configure: options =>
        {
            options.TimeProvider = new FakeTimeProvider();
            options.OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1, MaxEjectedShare = 0.5 };
        });
        balancer.Update(TestEndpoints.Distinct(N, seed: 135));
        HashSet<Endpoint> ejected = [];
        for (int i = 0; i < N; i += 5)
        {
            balancer.EjectionForTests!.RecordFailure(balancer.CurrentSnapshot.States[i]);
            ejected.Add(balancer.CurrentSnapshot.Endpoints[i]);
        }

        Assert.Equal(N / 5, balancer.GetStatus().Count(status => status.IsEjected));
        string[] keys = TestEndpoints.Keys(Acquires, seed: 136);
        Assert.True(balancer.TryAcquire("warm-up", out EndpointLease first));
        first.Dispose();

        long before = StateReads.Count;
        foreach (string key in keys)
        {
            Assert.True(balancer.TryAcquire(key, out EndpointLease lease));
            Assert.DoesNotContain(lease.Endpoint, ejected);
            lease.Dispose();
        }

        Assert.InRange((StateReads.Count - before) / Acquires, 1, 4);
    }

    [Theory]
    [InlineData("bounded-load")]
    [InlineData("maglev-bounded")]
    public void TryAcquire_OneOfThousandEjected_ReadsAFewStatesPerPlacementNotN(string picker)
    {
        Assert.True(StateReads.Enabled, $"The test project must set the runtime switch {StateReads.SwitchName}.");
        LoadBalancer balancer = LoadBalancerTests.Create(picker, configure: options =>
        {
            options.TimeProvider = new FakeTimeProvider();
            options.OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1 };
        });
        balancer.Update(TestEndpoints.Distinct(N, seed: 131));
        balancer.EjectionForTests!.RecordFailure(balancer.CurrentSnapshot.States[17]);
        Assert.True(balancer.ChecksEjectionsNow);
        string[] keys = TestEndpoints.Keys(Acquires, seed: 132);

        // The first placement after a change of the ejection set may pay O(N) once.
        AcquireAndRelease(balancer, "warm-up");
        long before = StateReads.Count;
        foreach (string key in keys)
        {
            AcquireAndRelease(balancer, key);
        }

        long perPlacement = (StateReads.Count - before) / Acquires;
        Assert.InRange(perPlacement, 1, 4);

        // A second ejection changes the set: one more O(N) rebuild, then O(1) again.
        balancer.EjectionForTests!.RecordFailure(balancer.CurrentSnapshot.States[600]);
        before = StateReads.Count;
        foreach (string key in keys)
        {
            AcquireAndRelease(balancer, key);
        }

        Assert.InRange(StateReads.Count - before, Acquires, (4 * Acquires) + N);
        Assert.Equal(2, balancer.GetStatus().Count(status => status.IsEjected));
    }

    [Theory]
    [InlineData("bounded-load")]
    [InlineData("maglev-bounded")]
    public void TryAcquire_EveryOneOfThousandFull_OnePassThenOverCapacityOnLeastLoaded(string picker)
    {
        Assert.True(StateReads.Enabled, $"The test project must set the runtime switch {StateReads.SwitchName}.");
        LoadBalancer balancer = LoadBalancerTests.Create(picker);
        balancer.Update(TestEndpoints.Distinct(N, seed: 133));

        // Counts raised behind the total's back (the benchmark's hard state): against the total the placement reads,
        // every endpoint is full, and no other thread will ever grow that total. Endpoint 421 holds the least.
        BalancerSnapshot snapshot = balancer.CurrentSnapshot;
        for (int i = 0; i < N; i++)
        {
            for (int n = 0; n < (i == 421 ? 1 : 2); n++)
            {
                Assert.True(snapshot.States[i].TryAdd());
            }
        }

        long before = StateReads.Count;
        Assert.True(balancer.TryAcquire("key", out EndpointLease lease));
        long reads = StateReads.Count - before;

        Assert.Equal(PickOutcome.OverCapacity, lease.Outcome);
        Assert.Equal(snapshot.Endpoints[421], lease.Endpoint);
        Assert.Equal(2, snapshot.States[421].InFlight);

        // One pass: the home, the 16 random probes and one sweep of every endpoint, then a few O(1) steps (64 full
        // rounds and a separate least-loaded scan read about 66,000 states here).
        Assert.InRange(reads, N, N + 32);
        lease.Dispose();
    }

    [Fact]
    public void TryAcquire_EveryEndpointFullAndTheLeastLoadedEjected_OverCapacityOnAnAvailableOne()
    {
        LoadBalancer balancer = LoadBalancerTests.Create("bounded-load", configure: options =>
        {
            options.TimeProvider = new FakeTimeProvider();
            options.OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1 };
        });
        balancer.Update(TestEndpoints.Distinct(4, seed: 134));
        BalancerSnapshot snapshot = balancer.CurrentSnapshot;
        int[] pinned = [30, 20, 5, 10];
        for (int i = 0; i < pinned.Length; i++)
        {
            for (int n = 0; n < pinned[i]; n++)
            {
                Assert.True(snapshot.States[i].TryAdd());
            }
        }

        balancer.EjectionForTests!.RecordFailure(snapshot.States[2]);

        Assert.True(balancer.TryAcquire("key", out EndpointLease lease));
        Assert.Equal(PickOutcome.OverCapacity, lease.Outcome);
        Assert.Equal(snapshot.Endpoints[3], lease.Endpoint);
        lease.Dispose();
    }

    private static void AcquireAndRelease(LoadBalancer balancer, string key)
    {
        Assert.True(balancer.TryAcquire(key, out EndpointLease lease));
        Assert.NotEqual(17, Array.IndexOf(balancer.CurrentSnapshot.Endpoints, lease.Endpoint));
        lease.Dispose();
    }
}
