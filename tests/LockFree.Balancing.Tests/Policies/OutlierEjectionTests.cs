using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace LockFree.Balancing.Tests.Policies;

/// <summary>Passive outlier ejection on every picker, driven by a manual clock: no test sleeps.</summary>
public sealed class OutlierEjectionTests
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(10);

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void Fail_ThresholdReached_EndpointGetsNoRequestsUntilEjectionEnds(string picker)
    {
        FakeTimeProvider time = new();
        LoadBalancer balancer = Create(picker, time, share: 0.5);
        Endpoint[] endpoints = TestEndpoints.Distinct(4, seed: 1);
        balancer.Update(endpoints);
        Endpoint victim = FailUntilEjected(balancer, threshold: 3);

        Assert.True(StatusOf(balancer, victim).IsEjected);
        Assert.DoesNotContain(Placements(balancer, 2000), e => e.Equals(victim));

        time.Advance(Base);

        Assert.False(StatusOf(balancer, victim).IsEjected);
        Assert.Contains(Placements(balancer, 2000), e => e.Equals(victim));
        Assert.All(endpoints, e => Assert.Equal(0, balancer.InFlightOf(e.Key)));
    }

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void Fail_EveryEndpoint_NeverEjectsMoreThanTheConfiguredShare(string picker)
    {
        FakeTimeProvider time = new();
        LoadBalancer balancer = Create(picker, time, share: 0.5);
        Endpoint[] endpoints = TestEndpoints.Distinct(5, seed: 2);
        balancer.Update(endpoints);

        for (int round = 0; round < 50; round++)
        {
            foreach (string key in TestEndpoints.Keys(40, seed: round))
            {
                balancer.Acquire(key).Fail();
            }
        }

        Assert.Equal(2, balancer.GetStatus().Count(s => s.IsEjected));
        Assert.Equal(3, Placements(balancer, 3000).Distinct().Count());
    }

    public static TheoryData<string, int> PickersAndSizes()
    {
        TheoryData<string, int> data = [];
        foreach (string picker in LoadBalancerTests.Pickers)
        {
            data.Add(picker, 1);
            data.Add(picker, 3);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PickersAndSizes))]
    public void AllEjected_TryAcquireReturnsFalseAndCountsNothing(string picker, int size)
    {
        FakeTimeProvider time = new();
        LoadBalancer balancer = Create(picker, time, share: 1.0);
        Endpoint[] endpoints = TestEndpoints.Distinct(size, seed: 3);
        balancer.Update(endpoints);

        for (int i = 0; i < 200 && balancer.TryAcquire($"k{i}", out EndpointLease lease); i++)
        {
            lease.Fail();
        }

        Assert.All(balancer.GetStatus(), s => Assert.True(s.IsEjected));
        Assert.False(balancer.TryAcquire("any", out _));
        Assert.False(balancer.TryPick("any", out _));
        Assert.Throws<NoEndpointsException>(() => balancer.Acquire());
        Assert.All(endpoints, e => Assert.Equal(0, balancer.InFlightOf(e.Key)));

        time.Advance(Base);
        Assert.True(balancer.TryAcquire("any", out EndpointLease back));
        back.Dispose();
    }

    [Theory]
    [InlineData("bounded-load")]
    [InlineData("maglev-bounded")]
    public async Task BoundedAcquire_ManyHeldWhileHalfAreEjected_CapacityCountsOnlyAvailableWeight(string picker)
    {
        // With half the endpoints ejected, capacities computed over the whole set's weight would sum to
        // about c/2 of the total: every available endpoint full, and placement retrying forever.
        FakeTimeProvider time = new();
        LoadBalancer balancer = Create(picker, time, share: 0.5);
        Endpoint[] endpoints = TestEndpoints.Distinct(4, seed: 10);
        balancer.Update(endpoints);
        FailUntilEjected(balancer, threshold: 3);
        FailUntilEjected(balancer, threshold: 3);
        Assert.Equal(2, balancer.GetStatus().Count(s => s.IsEjected));

        // On a worker, bounded by a timeout: the bug this guards against is an endless retry loop.
        Task<EndpointLease[]> holding = Task.Run(() => Enumerable.Range(0, 200).Select(i => balancer.Acquire("hot")).ToArray());
        Task finished = await Task.WhenAny(holding, Task.Delay(TimeSpan.FromSeconds(20)));

        Assert.True(finished == holding, "bounded placement did not finish: it found no room among the available endpoints");
        int[] loads = balancer.GetStatus().Where(s => !s.IsEjected).Select(s => s.InFlight).ToArray();
        Assert.Equal(200, loads.Sum());
        Assert.All(loads, load => Assert.InRange(load, 1, (int)Math.Ceiling(1.25 * 200 / 2)));
        Array.ForEach(await holding, l => l.Dispose());
    }

    [Fact]
    public void Fail_RepeatedEjections_DurationDoublesUpToTheMaximum()
    {
        FakeTimeProvider time = new();
        LoadBalancer balancer = new RoundRobinBalancer(new LoadBalancerOptions
        {
            TimeProvider = time,
            OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1, BaseEjectionTime = Base, MaxEjectionTime = TimeSpan.FromSeconds(35) },
        });
        balancer.Update(TestEndpoints.Distinct(2, seed: 4));
        TimeSpan[] durations = new TimeSpan[4];

        Endpoint victim = balancer.Endpoints[0];
        for (int i = 0; i < durations.Length; i++)
        {
            FailUntilEjected(balancer, threshold: 1, victim);
            durations[i] = StatusOf(balancer, victim).EjectionRemaining!.Value;
            time.Advance(durations[i]);
            Assert.False(StatusOf(balancer, victim).IsEjected);
        }

        Assert.Equal([Base, 2 * Base, TimeSpan.FromSeconds(35), TimeSpan.FromSeconds(35)], durations);
    }

    [Fact]
    public void Dispose_SuccessBetweenFailures_ResetsTheRun()
    {
        FakeTimeProvider time = new();
        LoadBalancer balancer = new ConsistentHashBalancer(new ConsistentHashOptions
        {
            TimeProvider = time,
            OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 3 },
        });
        balancer.Update(TestEndpoints.Distinct(4, seed: 5));

        balancer.Acquire("k").Fail();
        balancer.Acquire("k").Fail();
        balancer.Acquire("k").Dispose();
        balancer.Acquire("k").Fail();
        balancer.Acquire("k").Fail();

        Endpoint home = balancer.Pick("k");
        Assert.False(StatusOf(balancer, home).IsEjected);
        Assert.Equal(2, StatusOf(balancer, home).ConsecutiveFailures);
        balancer.Acquire("k").Fail();
        Assert.True(StatusOf(balancer, home).IsEjected);
    }

    [Fact]
    public void Update_RemovingTheEjectedEndpoint_PicksLeaveTheEjectionPath()
    {
        // The ejection of an endpoint that left the set must not keep every pick reading the clock.
        FakeTimeProvider time = new();
        LoadBalancer balancer = Create("round-robin", time, share: 0.5);
        Endpoint[] endpoints = TestEndpoints.Distinct(4, seed: 6);
        balancer.Update(endpoints);
        Endpoint victim = FailUntilEjected(balancer, threshold: 3);
        Assert.True(balancer.ChecksEjectionsNow);

        balancer.Remove(victim);

        Assert.False(balancer.ChecksEjectionsNow);
        Assert.DoesNotContain(balancer.GetStatus(), s => s.IsEjected);
    }

    [Fact]
    public void Pick_AfterEveryEjectionEnded_PicksLeaveTheEjectionPath()
    {
        FakeTimeProvider time = new();
        LoadBalancer balancer = Create("consistent-hash", time, share: 0.5);
        balancer.Update(TestEndpoints.Distinct(4, seed: 9));
        FailUntilEjected(balancer, threshold: 3);

        time.Advance(Base);
        balancer.Pick("any");

        Assert.False(balancer.ChecksEjectionsNow);
    }

    [Fact]
    public void Constructor_BadEjectionOptions_ThrowWithAcceptedRange()
    {
        Assert.Contains("between 1 and 1000", Assert.Throws<ArgumentException>(() => new RoundRobinBalancer(new LoadBalancerOptions
        {
            OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 0 },
        })).Message, StringComparison.Ordinal);
        Assert.Contains("above 0 and at most 1", Assert.Throws<ArgumentException>(() => new MaglevBalancer(new MaglevOptions
        {
            OutlierEjection = new OutlierEjectionOptions { MaxEjectedShare = 1.5 },
        })).Message, StringComparison.Ordinal);
        Assert.Contains("at least BaseEjectionTime", Assert.Throws<ArgumentException>(() => new ConsistentHashBalancer(new ConsistentHashOptions
        {
            OutlierEjection = new OutlierEjectionOptions { BaseEjectionTime = TimeSpan.FromMinutes(10), MaxEjectionTime = TimeSpan.FromMinutes(1) },
        })).Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void PickAndAcquire_WhileAnEndpointIsEjected_AllocateZeroBytes(string picker)
    {
        FakeTimeProvider time = new();
        LoadBalancer balancer = Create(picker, time, share: 0.5);
        balancer.Update(TestEndpoints.Distinct(8, seed: 7));
        FailUntilEjected(balancer, threshold: 3);
        string[] keys = TestEndpoints.Keys(256, seed: 8);
        Placements(balancer, 1000);

        long least = long.MaxValue;
        for (int pass = 0; pass < 3; pass++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20_000; i++)
            {
                balancer.TryPick(keys[i & 255], out _);
                if (balancer.TryAcquire(keys[i & 255], out EndpointLease lease))
                {
                    lease.Dispose();
                }
            }

            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, least);
    }

    private static LoadBalancer Create(string picker, FakeTimeProvider time, double share)
        => LoadBalancerTests.Create(picker, configure: options =>
        {
            options.TimeProvider = time;
            options.OutlierEjection = new OutlierEjectionOptions
            {
                ConsecutiveFailures = 3,
                BaseEjectionTime = Base,
                MaxEjectionTime = TimeSpan.FromMinutes(1),
                MaxEjectedShare = share,
            };
        });

    /// <summary>Fails requests on one endpoint (<paramref name="victim"/>, or the first one a lease lands on) until it is ejected.</summary>
    private static Endpoint FailUntilEjected(LoadBalancer balancer, int threshold, Endpoint? victim = null)
    {
        for (int i = 0; i < 10_000; i++)
        {
            EndpointLease lease = balancer.Acquire($"key-{i % 64}");
            victim ??= balancer.GetStatus().Any(s => s.Endpoint.Equals(lease.Endpoint) && s.IsEjected) ? null : lease.Endpoint;
            if (lease.Endpoint.Equals(victim))
            {
                lease.Fail();
                if (StatusOf(balancer, victim).IsEjected)
                {
                    return victim;
                }
            }
            else
            {
                lease.Dispose();
            }
        }

        throw new InvalidOperationException($"{victim} was not ejected after {threshold} failures in a row");
    }

    private static EndpointStatus StatusOf(LoadBalancer balancer, Endpoint endpoint)
        => balancer.GetStatus().Single(s => s.Endpoint.Equals(endpoint));

    private static Endpoint[] Placements(LoadBalancer balancer, int count)
    {
        Endpoint[] placed = new Endpoint[count];
        for (int i = 0; i < count; i++)
        {
            using EndpointLease lease = balancer.Acquire($"key-{i}");
            placed[i] = lease.Endpoint;
        }

        return placed;
    }
}
