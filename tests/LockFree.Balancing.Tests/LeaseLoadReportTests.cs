using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace LockFree.Balancing.Tests;

/// <summary>
/// <see cref="EndpointLease.ReportLoad"/>: a load reported through the lease reaches its endpoint in O(1) (no key
/// lookup) on the balancer's clock, feeds power of two choices, and misuse (after the end, twice, through a copy,
/// bad values) is harmless and said.
/// </summary>
public sealed class LeaseLoadReportTests
{
    [Fact]
    public void ReportLoad_ThroughLeases_PowerOfTwoChoicesAvoidsTheEndpointReportingHighLoad()
    {
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.Reported, Seed = 2 });
        Endpoint[] endpoints = TestEndpoints.Distinct(3, seed: 2);
        balancer.Update(endpoints);
        Endpoint busy = endpoints[1];

        // Each response reports its endpoint's load on the lease that placed it, before the lease ends.
        for (int i = 0; i < 300; i++)
        {
            using EndpointLease lease = balancer.Acquire();
            Assert.True(lease.ReportLoad(lease.Endpoint.Equals(busy) ? 0.95 : 0.1));
        }

        Assert.Equal(0.95, balancer.GetStatus().Single(s => s.Endpoint.Equals(busy)).ReportedLoad);
        Assert.DoesNotContain(Enumerable.Range(0, 2000).Select(_ => balancer.Pick()), e => e.Equals(busy));
    }

    [Fact]
    public void ReportLoad_ThroughLease_UsesTheBalancersClockSoTheReportFades()
    {
        FakeTimeProvider time = new();
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions
        {
            LoadMeasure = LoadMeasure.Reported, ReportedLoadHalfLife = TimeSpan.FromSeconds(10), Seed = 3, TimeProvider = time,
        });
        Endpoint[] endpoints = TestEndpoints.Distinct(2, seed: 4);
        balancer.Update(endpoints);
        using (EndpointLease lease = balancer.Acquire())
        {
            Assert.True(lease.ReportLoad(0.8));
        }

        Endpoint reported = balancer.GetStatus().Single(s => s.ReportedLoad > 0).Endpoint;
        LockFree.Balancing.Load.EndpointState state = balancer.CurrentSnapshot.States[Array.IndexOf(balancer.CurrentSnapshot.Endpoints, reported)];
        long now = time.GetTimestamp();
        Assert.Equal(0.8, state.DecayedReportedLoad(now, Math.Log(2) / (10.0 * time.TimestampFrequency)), 6);

        // Two half-lives on the balancer's (manual) clock: a quarter of it. A report stamped by another clock would not decay so.
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(0.2, state.DecayedReportedLoad(time.GetTimestamp(), Math.Log(2) / (10.0 * time.TimestampFrequency)), 6);
    }

    [Fact]
    public void ReportLoad_AfterTheLeaseEnded_DroppedAndSaysSo()
    {
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.Reported });
        balancer.Update(TestEndpoints.Distinct(1, seed: 5));

        EndpointLease lease = balancer.Acquire();
        Assert.True(lease.ReportLoad(0.3));
        lease.Dispose();
        Assert.False(lease.ReportLoad(0.9));

        EndpointLease failed = balancer.Acquire();
        failed.Fail();
        Assert.False(failed.ReportLoad(0.9));
        Assert.False(default(EndpointLease).ReportLoad(0.9));

        EndpointStatus status = Assert.Single(balancer.GetStatus());
        Assert.Equal(0.3, status.ReportedLoad);
        Assert.Equal(0, status.InFlight);
        Assert.Equal(0, status.IgnoredReleases);
    }

    [Fact]
    public void ReportLoad_Twice_TheLaterReportCountsAndNoCountChanges()
    {
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.Reported });
        balancer.Update(TestEndpoints.Distinct(1, seed: 6));

        using EndpointLease lease = balancer.Acquire();
        Assert.True(lease.ReportLoad(0.7));
        Assert.True(lease.ReportLoad(0.2));

        EndpointStatus status = Assert.Single(balancer.GetStatus());
        Assert.Equal(0.2, status.ReportedLoad);
        Assert.Equal(1, status.InFlight);
    }

    [Fact]
    public void ReportLoad_ThroughACopyAfterTheOriginalEnded_RecordsOnTheSameEndpointWithoutReleasing()
    {
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.Reported });
        balancer.Update(TestEndpoints.Distinct(2, seed: 7));

        EndpointLease original = balancer.Acquire();
        EndpointLease copy = original;
        original.Dispose();

        // The copy still points at the endpoint: its report lands there and releases nothing (count stays 0, no refusal).
        Assert.True(copy.ReportLoad(0.6));
        EndpointStatus status = balancer.GetStatus().Single(s => s.Endpoint.Equals(original.Endpoint));
        Assert.Equal(0.6, status.ReportedLoad);
        Assert.Equal(0, status.InFlight);
        Assert.Equal(0, status.IgnoredReleases);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void ReportLoad_NotAFiniteNonNegativeNumber_ThrowsNamingWhatIsAccepted(double load)
    {
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.Reported });
        balancer.Update(TestEndpoints.Distinct(1, seed: 8));
        using EndpointLease lease = balancer.Acquire();

        ArgumentOutOfRangeException thrown = Assert.Throws<ArgumentOutOfRangeException>(() => lease.ReportLoad(load));
        Assert.Equal("load", thrown.ParamName);
        Assert.Contains("finite number of at least 0", thrown.Message, StringComparison.Ordinal);
        Assert.Equal(0, Assert.Single(balancer.GetStatus()).ReportedLoad);
    }

    [Fact]
    public void ReportLoad_OnEveryAcquire_AllocatesNothing()
    {
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.Reported, Seed = 9 });
        balancer.Update(TestEndpoints.Distinct(10, seed: 9));
        AcquireReportRelease(balancer, 100);

        long before = GC.GetAllocatedBytesForCurrentThread();
        AcquireReportRelease(balancer, 10_000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static void AcquireReportRelease(LoadBalancer balancer, int count)
    {
        for (int i = 0; i < count; i++)
        {
            using EndpointLease lease = balancer.Acquire();
            lease.ReportLoad((i % 10) / 10.0);
        }
    }
}
