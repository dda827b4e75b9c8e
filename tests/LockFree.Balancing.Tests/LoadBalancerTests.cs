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
            "power-of-two" => new PowerOfTwoChoicesBalancer(With(new PowerOfTwoChoicesOptions())),
            "power-of-two-rate" => new PowerOfTwoChoicesBalancer(With(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.RequestRate })),
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
