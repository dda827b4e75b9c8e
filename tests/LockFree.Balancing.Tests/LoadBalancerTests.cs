using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace LockFree.Balancing.Tests;

/// <summary>Behaviour every picker shares through <see cref="LoadBalancer"/>: updates, leases, errors.</summary>
public sealed class LoadBalancerTests
{
    public static TheoryData<string> Pickers => ["round-robin", "consistent-hash", "bounded-load", "maglev", "maglev-bounded", "random", "power-of-two", "power-of-two-rate"];

    /// <param name="picker">One of <see cref="Pickers"/>.</param>
    /// <param name="maglevTableSize">Race tests rebuild thousands of times and pass a small prime; the contract does not depend on M.</param>
    /// <param name="configure">Sets the shared policies (fallback, ejection, clock) on the picker's options.</param>
    internal static LoadBalancer Create(string picker, int maglevTableSize = MaglevOptions.DefaultTableSize, Action<LoadBalancerOptions>? configure = null)
    {
        T With<T>(T options)
            where T : LoadBalancerOptions
        {
            configure?.Invoke(options);
            return options;
        }

        return picker switch
        {
            "round-robin" => new RoundRobinBalancer(With(new LoadBalancerOptions())),
            "consistent-hash" => new ConsistentHashBalancer(With(new ConsistentHashOptions())),
            "bounded-load" => new ConsistentHashBalancer(With(new ConsistentHashOptions { LoadFactor = 1.25 })),
            "maglev" => new MaglevBalancer(With(new MaglevOptions { TableSize = maglevTableSize })),
            "maglev-bounded" => new MaglevBalancer(With(new MaglevOptions { TableSize = maglevTableSize, LoadFactor = 1.25 })),
            "random" => new RandomBalancer(With(new RandomOptions { Seed = 7 })),
            "power-of-two" => new PowerOfTwoChoicesBalancer(With(new PowerOfTwoChoicesOptions { Seed = 7 })),
            "power-of-two-rate" => new PowerOfTwoChoicesBalancer(With(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.RequestRate, Seed = 7 })),
            _ => throw new ArgumentOutOfRangeException(nameof(picker)),
        };
    }

    [Theory]
    [MemberData(nameof(Pickers))]
    public void TryPickAndTryAcquire_EmptySet_ReturnFalseAndThrowingVariantsRaiseNoEndpoints(string picker)
    {
        LoadBalancer balancer = Create(picker);

        Assert.False(balancer.TryPick(out Endpoint? endpoint));
        Assert.Null(endpoint);
        Assert.False(balancer.TryPick("key", out _));
        Assert.False(balancer.TryAcquire("key"u8, out EndpointLease lease));
        Assert.False(lease.IsHeld);
        Assert.Throws<NoEndpointsException>(() => balancer.Pick());
        Assert.Throws<NoEndpointsException>(() => balancer.Pick("key"));
        Assert.Throws<NoEndpointsException>(() => balancer.Acquire("key"u8));
    }

    [Theory]
    [MemberData(nameof(Pickers))]
    public void Acquire_AllWeightsZero_RaisesNoEndpoints(string picker)
    {
        LoadBalancer balancer = Create(picker);
        balancer.Update([new Endpoint("10.0.0.1", 80, weight: 0), new Endpoint("10.0.0.2", 80, weight: 0)]);

        Assert.Equal(2, balancer.Endpoints.Count);
        Assert.Throws<NoEndpointsException>(() => balancer.Acquire("k"));
    }

    [Theory]
    [MemberData(nameof(Pickers))]
    public void Pick_SingleEndpoint_AlwaysThatEndpoint(string picker)
    {
        LoadBalancer balancer = Create(picker);
        Endpoint only = new("10.0.0.1", 80);
        balancer.Update([only]);

        foreach (string key in TestEndpoints.Keys(200, seed: 1))
        {
            Assert.Same(only, balancer.Pick(key));
            using EndpointLease lease = balancer.Acquire(key);
            Assert.Same(only, lease.Endpoint);
        }
    }

    [Theory]
    [MemberData(nameof(Pickers))]
    public void Acquire_Weights_ShareOfRequestsFollowsWeight(string picker)
    {
        // Weight 3 of a total 5 should take 60 % of the requests; weight 0 none. Keyed pickers are measured over many
        // distinct keys (a ring's share carries some noise, hence the tolerance), the others over keyless requests
        // released at once (so no load builds up and power of two choices sees ties: its draws follow the weights).
        LoadBalancer balancer = Create(picker, configure: o => o.TimeProvider = new FakeTimeProvider());
        Endpoint heavy = new("10.0.0.1", 80, weight: 3);
        Endpoint idle = new("10.0.0.9", 80, weight: 0);
        balancer.Update([heavy, new Endpoint("10.0.0.2", 80), new Endpoint("10.0.0.3", 80), idle]);

        int heavyCount = 0;
        string[] keys = TestEndpoints.Keys(20_000, seed: 4);
        foreach (string key in keys)
        {
            using EndpointLease lease = picker is "consistent-hash" or "bounded-load" or "maglev" or "maglev-bounded" ? balancer.Acquire(key) : balancer.Acquire();
            Assert.NotEqual(idle, lease.Endpoint);
            heavyCount += lease.Endpoint.Equals(heavy) ? 1 : 0;
        }

        Assert.InRange(heavyCount / (double)keys.Length, 0.55, 0.65);
    }

    [Theory]
    [MemberData(nameof(Pickers))]
    public void SameOptionsSameOperations_SamePlacements(string picker)
    {
        // Deterministic pickers are deterministic; the random ones are once seeded (as every picker here is), and a
        // manual clock takes time out of the request-rate measure.
        var clock = new FakeTimeProvider();
        LoadBalancer first = Create(picker, configure: o => o.TimeProvider = clock);
        LoadBalancer second = Create(picker, configure: o => o.TimeProvider = clock);
        Endpoint[] endpoints = TestEndpoints.Distinct(12, seed: 5);
        first.Update(endpoints);
        second.Update([.. endpoints.Reverse()]);

        var held = new Queue<(EndpointLease First, EndpointLease Second)>();
        string[] keys = TestEndpoints.Keys(3000, seed: 6);
        for (int i = 0; i < keys.Length; i++)
        {
            (EndpointLease a, EndpointLease b) = i % 3 == 0 ? (first.Acquire(), second.Acquire()) : (first.Acquire(keys[i]), second.Acquire(keys[i]));
            Assert.Equal(a.Endpoint, b.Endpoint);
            held.Enqueue((a, b));
            if (held.Count > 20)
            {
                (EndpointLease oldA, EndpointLease oldB) = held.Dequeue();
                oldA.Dispose();
                oldB.Dispose();
            }

            clock.Advance(TimeSpan.FromMilliseconds(7));
        }
    }

    [Theory]
    [MemberData(nameof(Pickers))]
    public void Update_SameSetInAnyOrder_IsNoOp(string picker)
    {
        LoadBalancer balancer = Create(picker);
        Endpoint[] endpoints = TestEndpoints.Distinct(20, seed: 3);

        Assert.True(balancer.Update(endpoints));
        long version = balancer.Version;
        Assert.False(balancer.Update(endpoints.Reverse()));
        Assert.False(balancer.Update(endpoints.Concat(endpoints)));
        Assert.Equal(version, balancer.Version);
    }

    [Theory]
    [MemberData(nameof(Pickers))]
    public void Update_ChangedAttribute_PublishesNewSnapshot(string picker)
    {
        LoadBalancer balancer = Create(picker);
        balancer.Update([new Endpoint("10.0.0.1", 80), new Endpoint("10.0.0.2", 80)]);
        long version = balancer.Version;

        Assert.True(balancer.Update([new Endpoint("10.0.0.1", 80, zone: "a"), new Endpoint("10.0.0.2", 80)]));
        Assert.Equal(version + 1, balancer.Version);
        Assert.Equal("a", balancer.Endpoints[0].Zone);
    }

    [Theory]
    [MemberData(nameof(Pickers))]
    public void Update_SameKeyTwiceWithDifferentAttributes_ThrowsAndKeepsCurrentSet(string picker)
    {
        LoadBalancer balancer = Create(picker);
        balancer.Update([new Endpoint("10.0.0.9", 80)]);

        ArgumentException error = Assert.Throws<ArgumentException>(
            () => balancer.Update([new Endpoint("10.0.0.1", 80, weight: 1), new Endpoint("10.0.0.1", 80, weight: 2)]));

        Assert.Contains("10.0.0.1:80", error.Message, StringComparison.Ordinal);
        Assert.Equal("10.0.0.9:80", Assert.Single(balancer.Endpoints).Key);
    }

    [Theory]
    [MemberData(nameof(Pickers))]
    public void AddAndRemove_ChangeTheSetByKey(string picker)
    {
        LoadBalancer balancer = Create(picker);

        Assert.True(balancer.Add(new Endpoint("10.0.0.2", 80), new Endpoint("10.0.0.1", 80)));
        Assert.False(balancer.Add(new Endpoint("10.0.0.1", 80)));
        Assert.True(balancer.Add(new Endpoint("10.0.0.1", 80, weight: 3)));
        Assert.Equal(["10.0.0.1:80", "10.0.0.2:80"], balancer.Endpoints.Select(e => e.Key));
        Assert.Equal(3, balancer.Endpoints[0].Weight);

        Assert.True(balancer.Remove(Endpoint.Parse("10.0.0.1:80")));
        Assert.False(balancer.Remove(Endpoint.Parse("10.0.0.7:80")));
        Assert.Equal("10.0.0.2:80", Assert.Single(balancer.Endpoints).Key);
    }

    [Theory]
    [MemberData(nameof(Pickers))]
    public void LeaseDispose_Twice_ReleasesOnce(string picker)
    {
        LoadBalancer balancer = Create(picker);
        balancer.Update(TestEndpoints.Distinct(3, seed: 5));
        EndpointLease held = balancer.Acquire("key");
        EndpointLease lease = balancer.Acquire("key");
        string key = lease.Endpoint.Key;
        int before = balancer.InFlightOf(key);

        lease.Dispose();
        lease.Dispose();

        Assert.False(lease.IsHeld);
        Assert.Equal(before - 1, balancer.InFlightOf(key));
        held.Dispose();
        Assert.All(balancer.Endpoints, e => Assert.Equal(0, balancer.InFlightOf(e.Key)));
    }

    [Fact]
    public void DefaultLease_DisposeIsHarmlessAndEndpointThrows()
    {
        EndpointLease lease = default;

        lease.Dispose();

        Assert.False(lease.IsHeld);
        Assert.Throws<InvalidOperationException>(() => lease.Endpoint);
    }

    [Theory]
    [MemberData(nameof(Pickers))]
    public void InFlightCount_SurvivesUpdatesThatKeepTheEndpoint(string picker)
    {
        LoadBalancer balancer = Create(picker);
        Endpoint[] endpoints = TestEndpoints.Distinct(4, seed: 7);
        balancer.Update(endpoints);
        EndpointLease lease = balancer.Acquire("sticky");
        Endpoint picked = lease.Endpoint;

        balancer.Update(endpoints.Append(new Endpoint("10.200.0.1", 80)));
        balancer.Update(endpoints.Select(e => e.Equals(picked) ? e.WithWeight(2) : e));

        Assert.Equal(1, balancer.InFlightOf(picked.Key));
        lease.Dispose();
        Assert.Equal(0, balancer.InFlightOf(picked.Key));
    }

    [Theory]
    [MemberData(nameof(Pickers))]
    public void Lease_OnRemovedEndpoint_ReleasesTheCountItTookAndKeyComesBackWithIt(string picker)
    {
        LoadBalancer balancer = Create(picker);
        Endpoint[] endpoints = TestEndpoints.Distinct(4, seed: 9);
        balancer.Update(endpoints);
        EndpointLease lease = balancer.Acquire("k");
        Endpoint picked = lease.Endpoint;

        balancer.Update(endpoints.Where(e => !e.Equals(picked)));
        Assert.Equal(1, balancer.InFlightOf(picked.Key));

        balancer.Update(endpoints);
        Assert.Equal(1, balancer.InFlightOf(picked.Key));

        lease.Dispose();
        Assert.Equal(0, balancer.InFlightOf(picked.Key));
    }

    [Theory]
    [MemberData(nameof(Pickers))]
    public void RemovedEndpoint_WithNothingInFlight_IsForgotten(string picker)
    {
        LoadBalancer balancer = Create(picker);
        Endpoint[] endpoints = TestEndpoints.Distinct(3, seed: 11);
        balancer.Update(endpoints);
        balancer.Acquire("k").Dispose();

        balancer.Update(endpoints.Skip(1));

        Assert.Equal(2, balancer.Endpoints.Count);
        Assert.Equal(0, balancer.InFlightOf(endpoints[0].Key));
    }

    [Fact]
    public void Endpoints_CannotBeMutatedThroughTheView()
    {
        LoadBalancer balancer = new RoundRobinBalancer();
        balancer.Update(TestEndpoints.Distinct(2, seed: 13));

        Assert.IsNotType<Endpoint[]>(balancer.Endpoints);
        Assert.Throws<NotSupportedException>(() => ((IList<Endpoint>)balancer.Endpoints)[0] = new Endpoint("10.9.9.9", 1));
    }
}
