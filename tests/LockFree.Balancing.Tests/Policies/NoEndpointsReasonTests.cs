using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace LockFree.Balancing.Tests.Policies;

/// <summary>
/// The exception of <c>Pick</c> and <c>Acquire</c>, and <see cref="LoadBalancer.GetUnavailableReason"/> after a failed
/// <c>Try</c> call, say why nothing was available: an empty set or every endpoint ejected.
/// </summary>
public sealed class NoEndpointsReasonTests
{
    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void PickAndAcquire_EmptySet_ReasonIsNoEndpoints(string picker)
    {
        LoadBalancer balancer = LoadBalancerTests.Create(picker);

        Assert.Equal(NoEndpointsReason.NoEndpoints, Assert.Throws<NoEndpointsException>(() => balancer.Acquire("k")).Reason);
        Assert.Equal(NoEndpointsReason.NoEndpoints, Assert.Throws<NoEndpointsException>(() => balancer.Pick()).Reason);
        Assert.Contains("empty", Assert.Throws<NoEndpointsException>(() => balancer.Acquire()).Message, StringComparison.Ordinal);
        Assert.False(balancer.TryAcquire("k", out _));
        Assert.Equal(NoEndpointsReason.NoEndpoints, balancer.GetUnavailableReason());
    }

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void PickAndAcquire_AllEjected_ReasonIsAllEjected(string picker)
    {
        LoadBalancer balancer = LoadBalancerTests.Create(picker, configure: options =>
        {
            options.TimeProvider = new FakeTimeProvider();
            options.OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1, MaxEjectedShare = 1 };
        });
        balancer.Update(TestEndpoints.Distinct(3, seed: 95));
        Assert.Null(balancer.GetUnavailableReason());
        foreach (LockFree.Balancing.Load.EndpointState state in balancer.CurrentSnapshot.States)
        {
            balancer.EjectionForTests!.RecordFailure(state);
        }

        NoEndpointsException acquired = Assert.Throws<NoEndpointsException>(() => balancer.Acquire("k"));
        Assert.Equal(NoEndpointsReason.AllEjected, acquired.Reason);
        Assert.Contains("ejected", acquired.Message, StringComparison.Ordinal);
        Assert.Equal(NoEndpointsReason.AllEjected, Assert.Throws<NoEndpointsException>(() => balancer.Pick("k")).Reason);
        Assert.False(balancer.TryPick(out _));
        Assert.Equal(NoEndpointsReason.AllEjected, balancer.GetUnavailableReason());
    }

    [Fact]
    public void NoEndpointsReason_Values_AreOnlyTheReasonsAPlacementCanFailFor()
    {
        // A bounded placement never fails for capacity (it goes over capacity on the least loaded endpoint), so the
        // enum holds no capacity reason a caller would handle in vain; each value has its own message.
        Assert.Equal([NoEndpointsReason.NoEndpoints, NoEndpointsReason.AllEjected], Enum.GetValues<NoEndpointsReason>());
        Assert.Equal(2, Enum.GetValues<NoEndpointsReason>().Select(reason => new NoEndpointsException(reason).Message).Distinct().Count());
    }

    [Theory]
    [InlineData("bounded-load")]
    [InlineData("maglev-bounded")]
    public void Acquire_EveryEndpointFullUnderTopologyPreference_PlacesInsteadOfThrowing(string picker)
    {
        // The local scope may give up for capacity; the placement then goes to every endpoint with a last resort.
        Endpoint[] endpoints = [new("10.0.1.1", 80, zone: "a"), new("10.0.1.2", 80, zone: "a"), new("10.0.2.1", 80, zone: "b"), new("10.0.2.2", 80, zone: "b")];
        LoadBalancer balancer = LoadBalancerTests.Create(picker, configure: options => options.Topology = new TopologyOptions { LocalZone = "a" });
        balancer.Update(endpoints);
        foreach (LockFree.Balancing.Load.EndpointState state in balancer.CurrentSnapshot.States)
        {
            for (int n = 0; n < 10; n++)
            {
                Assert.True(state.TryAdd());
            }
        }

        using EndpointLease lease = balancer.Acquire("k");
        Assert.Equal(PickOutcome.OverCapacity, lease.Outcome);
        Assert.Null(balancer.GetUnavailableReason());
    }
}
