using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace LockFree.Balancing.Tests.Policies;

public sealed class FallbackAndStatusTests
{
    private static readonly Endpoint ServiceName = new("web.shop.svc.cluster.local", 80);

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void EmptySet_WithFallback_PicksAndAcquiresTheFallback(string picker)
    {
        LoadBalancer balancer = LoadBalancerTests.Create(picker, configure: o => o.FallbackEndpoint = ServiceName);

        Assert.Same(ServiceName, balancer.Pick("k"));
        Assert.Same(ServiceName, balancer.Pick());
        using (EndpointLease lease = balancer.Acquire("k"))
        {
            Assert.Same(ServiceName, lease.Endpoint);
        }

        balancer.Update([new Endpoint("10.0.0.1", 80, weight: 0)]);
        Assert.Same(ServiceName, balancer.Pick("k"));

        balancer.Update([new Endpoint("10.0.0.1", 80)]);
        Assert.Equal("10.0.0.1:80", balancer.Pick("k").Key);
    }

    [Fact]
    public void AllEjected_WithFallback_AcquiresTheFallback()
    {
        FakeTimeProvider time = new();
        RoundRobinBalancer balancer = new(new LoadBalancerOptions
        {
            FallbackEndpoint = ServiceName,
            TimeProvider = time,
            OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1, MaxEjectedShare = 1 },
        });
        balancer.Update(TestEndpoints.Distinct(2, seed: 1));

        balancer.Acquire().Fail();
        balancer.Acquire().Fail();

        using EndpointLease lease = balancer.Acquire();
        Assert.Same(ServiceName, lease.Endpoint);
    }

    [Fact]
    public void GetStatus_RemovedEndpointWithRequestsInFlight_IsListedAsDrainingUntilReleased()
    {
        ConsistentHashBalancer balancer = new();
        Endpoint[] endpoints = TestEndpoints.Distinct(3, seed: 2);
        balancer.Update(endpoints);
        EndpointLease first = balancer.Acquire("a");
        EndpointLease second = balancer.Acquire("a");
        Endpoint leaving = first.Endpoint;

        balancer.Remove(leaving);

        EndpointStatus draining = Assert.Single(balancer.GetStatus(), s => s.IsDraining);
        Assert.Equal(leaving, draining.Endpoint);
        Assert.Equal(2, draining.InFlight);
        Assert.Equal(2, balancer.GetStatus().Count(s => !s.IsDraining));

        first.Dispose();
        Assert.Equal(1, Assert.Single(balancer.GetStatus(), s => s.IsDraining).InFlight);
        second.Dispose();
        Assert.DoesNotContain(balancer.GetStatus(), s => s.IsDraining);
    }

    [Fact]
    public void GetStatus_ReportsLoadMeasures()
    {
        FakeTimeProvider time = new();
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.RequestRate, TimeProvider = time, Seed = 3 });
        Endpoint[] endpoints = TestEndpoints.Distinct(2, seed: 3);
        balancer.Update(endpoints);
        balancer.ReportLoad(endpoints[0], 0.75);
        EndpointLease held = balancer.Acquire();

        IReadOnlyList<EndpointStatus> status = balancer.GetStatus();

        Assert.Equal(0.75, status.Single(s => s.Endpoint.Equals(endpoints[0])).ReportedLoad);
        Assert.Equal(1, status.Single(s => s.Endpoint.Equals(held.Endpoint)).InFlight);
        Assert.Equal(1.0, status.Single(s => s.Endpoint.Equals(held.Endpoint)).RecentRequests);
        RoundRobinBalancer untracked = new();
        untracked.Update(endpoints);
        Assert.All(untracked.GetStatus(), s => Assert.Null(s.RecentRequests));
        held.Dispose();
    }
}
