using Xunit;

namespace LockFree.Balancing.Tests.Load;

/// <summary>
/// While any endpoint is available, a bounded placement succeeds: when no endpoint has room against any total it
/// can read, it goes over capacity on the least loaded endpoint and says so in <see cref="EndpointLease.Outcome"/>,
/// instead of giving up and reporting an empty set.
/// </summary>
public sealed class OverCapacityPlacementTests
{
    [Theory]
    [InlineData("bounded-load")]
    [InlineData("maglev-bounded")]
    public void TryAcquire_EveryEndpointFullAgainstEveryTotalRead_PlacesOnLeastLoaded(string picker)
    {
        LoadBalancer balancer = LoadBalancerTests.Create(picker);
        balancer.Update(TestEndpoints.Distinct(4, seed: 91));

        // Counts raised behind the total's back: every round of the placement finds every endpoint full, as under
        // churn where other threads keep placing requests reserved after this one's read.
        BalancerSnapshot snapshot = balancer.CurrentSnapshot;
        for (int i = 0; i < snapshot.States.Length; i++)
        {
            for (int n = 0; n < (i == 2 ? 50 : 100); n++)
            {
                Assert.True(snapshot.States[i].TryAdd());
            }
        }

        Assert.True(balancer.TryAcquire("key", out EndpointLease lease));
        Assert.Equal(snapshot.Endpoints[2], lease.Endpoint);
        Assert.Equal(PickOutcome.OverCapacity, lease.Outcome);
        Assert.Equal(51, snapshot.States[2].InFlight);
        lease.Dispose();
    }
}
