using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace LockFree.Balancing.Tests.Policies;

/// <summary>What a lease reports about its placement, and the ejection callback, on every picker.</summary>
public sealed class PickOutcomeTests
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(10);

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void Acquire_NothingEjectedOrFull_IsHome(string picker)
    {
        LoadBalancer balancer = Create(picker, new FakeTimeProvider());
        balancer.Update(TestEndpoints.Distinct(5, seed: 1));

        for (int i = 0; i < 20; i++)
        {
            using EndpointLease lease = balancer.Acquire($"user-{i}");
            Assert.Equal(PickOutcome.Home, lease.Outcome);
        }
    }

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void Acquire_FirstChoiceEjected_IsOverflowAndNeverTheEjectedEndpoint(string picker)
    {
        FakeTimeProvider time = new();
        LoadBalancer balancer = Create(picker, time);
        balancer.Update(TestEndpoints.Distinct(4, seed: 2));
        EndpointLease first = balancer.Acquire("victim-key");
        Endpoint victim = first.Endpoint;
        first.Fail();

        List<EndpointLease> leases = [.. Enumerable.Range(0, 400).Select(i => balancer.Acquire($"user-{i}"))];

        Assert.Contains(leases, l => l.Outcome == PickOutcome.Overflow);
        Assert.DoesNotContain(leases, l => l.Endpoint.Equals(victim));
        leases.ForEach(l => l.Dispose());
    }

    [Theory]
    [InlineData("bounded-load")]
    [InlineData("maglev-bounded")]
    public void Acquire_HomeFull_IsOverflow(string picker)
    {
        LoadBalancer balancer = Create(picker, new FakeTimeProvider());
        balancer.Update(TestEndpoints.Distinct(4, seed: 3));

        // One key: the home takes requests up to its cap, then they overflow.
        List<EndpointLease> leases = [.. Enumerable.Range(0, 20).Select(_ => balancer.Acquire("hot-key"))];
        Endpoint home = leases[0].Endpoint;

        Assert.All(leases.Where(l => l.Endpoint.Equals(home)), l => Assert.Equal(PickOutcome.Home, l.Outcome));
        Assert.All(leases.Where(l => !l.Endpoint.Equals(home)), l => Assert.Equal(PickOutcome.Overflow, l.Outcome));
        Assert.Contains(leases, l => l.Outcome == PickOutcome.Overflow);
        leases.ForEach(l => l.Dispose());
    }

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void Acquire_NoEndpoint_IsFallback(string picker)
    {
        Endpoint fallback = new("web.shop.svc.cluster.local", 80);
        LoadBalancer balancer = LoadBalancerTests.Create(picker, configure: options => options.FallbackEndpoint = fallback);

        using EndpointLease lease = balancer.Acquire("k");

        Assert.Equal((fallback, PickOutcome.Fallback), (lease.Endpoint, lease.Outcome));
    }

    [Fact]
    public void Outcome_DefaultLease_IsHomeAndReadableAfterDispose()
    {
        RoundRobinBalancer balancer = new();
        balancer.Update([new Endpoint("10.0.0.1", 80)]);
        EndpointLease lease = balancer.Acquire();
        lease.Dispose();

        Assert.Equal(PickOutcome.Home, lease.Outcome);
        Assert.Equal(PickOutcome.Home, default(EndpointLease).Outcome);
    }

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void Ejected_CalledOncePerEjectionWithItsDurationAndCount(string picker)
    {
        FakeTimeProvider time = new();
        List<EndpointEjection> ejections = [];
        LoadBalancer balancer = Create(picker, time, ejections.Add);
        balancer.Update(TestEndpoints.Distinct(4, seed: 4));
        Endpoint victim;
        using (EndpointLease lease = balancer.Acquire("k"))
        {
            victim = lease.Endpoint;
        }

        FailOn(balancer, victim);
        time.Advance(Base);
        FailOn(balancer, victim);

        Assert.Equal(
            [new EndpointEjection(victim, Base, 1), new EndpointEjection(victim, Base * 2, 2)],
            ejections);
    }

    [Fact]
    public void Ejected_DeclinedByTheShareCap_IsNotCalled()
    {
        // Share 0.5 of three endpoints: one may be ejected (a lone endpoint may be too, as in Envoy), the second is declined.
        List<EndpointEjection> ejections = [];
        LoadBalancer balancer = Create("round-robin", new FakeTimeProvider(), ejections.Add);
        balancer.Update(TestEndpoints.Distinct(3, seed: 6));

        for (int i = 0; i < 6; i++)
        {
            balancer.Acquire().Fail();
        }

        Assert.Single(ejections);
        Assert.Single(balancer.GetStatus(), s => s.IsEjected);
    }

    [Fact]
    public void Ejected_CallbackThrows_PropagatesFromFailAfterTheEjectionAndRelease()
    {
        LoadBalancer balancer = Create("round-robin", new FakeTimeProvider(), _ => throw new InvalidOperationException("observer"));
        balancer.Update(TestEndpoints.Distinct(3, seed: 5));
        EndpointLease lease = balancer.Acquire();
        Endpoint endpoint = lease.Endpoint;

        Assert.Throws<InvalidOperationException>(lease.Fail);

        EndpointStatus status = balancer.GetStatus().Single(s => s.Endpoint.Equals(endpoint));
        Assert.True(status.IsEjected);
        Assert.Equal(0, status.InFlight);
    }

    // Fails requests placed on the victim until it is ejected once more (threshold 1: the first failure).
    private static void FailOn(LoadBalancer balancer, Endpoint victim)
    {
        for (int i = 0; i < 1000; i++)
        {
            EndpointLease lease = balancer.Acquire($"probe-{i}");
            if (lease.Endpoint.Equals(victim))
            {
                lease.Fail();
                return;
            }

            lease.Dispose();
        }

        Assert.Fail($"No request was placed on {victim} in 1000 tries.");
    }

    private static LoadBalancer Create(string picker, FakeTimeProvider time, Action<EndpointEjection>? ejected = null)
        => LoadBalancerTests.Create(picker, configure: options =>
        {
            options.TimeProvider = time;
            options.Ejected = ejected;
            options.OutlierEjection = new OutlierEjectionOptions
            {
                ConsecutiveFailures = 1,
                BaseEjectionTime = Base,
                MaxEjectionTime = TimeSpan.FromMinutes(1),
                MaxEjectedShare = 0.5,
            };
        });
}
