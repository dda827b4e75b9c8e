using LockFree.Balancing.Load;
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
    public void TryAcquire_OneOfThousandEjected_ReadsAFewStatesPerPlacementNotN(string picker)
    {
        Assert.True(StateReads.Enabled, $"The test project must set the runtime switch {StateReads.SwitchName}.");
        LoadBalancer balancer = LoadBalancerTests.Create(picker, configure: options =>
        {
            options.TimeProvider = new ManualTimeProvider();
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

    private static void AcquireAndRelease(LoadBalancer balancer, string key)
    {
        Assert.True(balancer.TryAcquire(key, out EndpointLease lease));
        Assert.NotEqual(17, Array.IndexOf(balancer.CurrentSnapshot.Endpoints, lease.Endpoint));
        lease.Dispose();
    }
}
