using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace LockFree.Balancing.Tests.Policies;

/// <summary>Topology preference on every picker: local first, every endpoint when the local set cannot serve. Clock-driven, no sleeps.</summary>
public sealed class TopologyTests
{
    private static readonly TimeSpan EjectionTime = TimeSpan.FromSeconds(10);

    // Two endpoints in each of three zones, one per node.
    private static Endpoint[] ThreeZones() =>
    [
        new("10.0.1.1", 80, zone: "zone-a", nodeName: "node-a1"),
        new("10.0.1.2", 80, zone: "zone-a", nodeName: "node-a2"),
        new("10.0.2.1", 80, zone: "zone-b", nodeName: "node-b1"),
        new("10.0.2.2", 80, zone: "zone-b", nodeName: "node-b2"),
        new("10.0.3.1", 80, zone: "zone-c", nodeName: "node-c1"),
        new("10.0.3.2", 80, zone: "zone-c", nodeName: "node-c2"),
    ];

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void Acquire_LocalZoneSet_EveryRequestStaysInTheZone(string picker)
    {
        LoadBalancer balancer = Create(picker, new TopologyOptions { LocalZone = "zone-a" });
        balancer.Update(ThreeZones());

        List<(Endpoint Endpoint, PickOutcome Outcome)> placed = Acquire(balancer, 600);

        Assert.All(placed, p => Assert.Equal("zone-a", p.Endpoint.Zone));
        Assert.All(placed, p => Assert.Equal(PickOutcome.Home, p.Outcome));
        Assert.Equal(2, placed.Select(p => p.Endpoint).Distinct().Count());
        Assert.All(Picks(balancer, 200), e => Assert.Equal("zone-a", e.Zone));
        Assert.All(balancer.GetStatus(), s => Assert.Equal(s.Endpoint.Zone == "zone-a", s.IsLocal));
    }

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void Acquire_LocalZoneAllEjected_GoesRemoteThenComesBackWhenTheEjectionEnds(string picker)
    {
        FakeTimeProvider time = new();
        LoadBalancer balancer = Create(picker, new TopologyOptions { LocalZone = "zone-a" }, time);
        balancer.Update(ThreeZones());

        // One failure ejects (threshold 1); every lease lands in zone-a until both of its endpoints are out.
        for (int i = 0; i < 100 && balancer.GetStatus().Count(s => s.IsEjected) < 2; i++)
        {
            balancer.Acquire($"eject-{i}").Fail();
        }

        Assert.All(balancer.GetStatus().Where(s => s.IsEjected), s => Assert.Equal("zone-a", s.Endpoint.Zone));
        List<(Endpoint Endpoint, PickOutcome Outcome)> during = Acquire(balancer, 600);
        Assert.All(during, p => Assert.NotEqual("zone-a", p.Endpoint.Zone));
        Assert.All(during, p => Assert.Equal(PickOutcome.Remote, p.Outcome));
        Assert.Equal(4, during.Select(p => p.Endpoint).Distinct().Count());

        time.Advance(EjectionTime);

        Assert.All(Acquire(balancer, 200), p => Assert.Equal("zone-a", p.Endpoint.Zone));
    }

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void Acquire_NoEndpointInTheLocalZone_UsesEveryEndpointAsHome(string picker)
    {
        LoadBalancer balancer = Create(picker, new TopologyOptions { LocalZone = "zone-x" });
        balancer.Update(ThreeZones());

        List<(Endpoint Endpoint, PickOutcome Outcome)> placed = Acquire(balancer, 1200);

        Assert.Equal(6, placed.Select(p => p.Endpoint).Distinct().Count());
        Assert.All(placed, p => Assert.Equal(PickOutcome.Home, p.Outcome));
    }

    [Theory]
    [MemberData(nameof(LoadBalancerTests.Pickers), MemberType = typeof(LoadBalancerTests))]
    public void Acquire_LocalNodeAndZone_PrefersTheNode(string picker)
    {
        LoadBalancer balancer = Create(picker, new TopologyOptions { LocalZone = "zone-a", LocalNode = "node-a2" });
        balancer.Update(ThreeZones());

        Assert.All(Acquire(balancer, 300), p => Assert.Equal("10.0.1.2:80", p.Endpoint.Key));
    }

    [Fact]
    public void Acquire_LocalNodeWithNoEndpoint_FallsToTheZone()
    {
        LoadBalancer balancer = Create("consistent-hash", new TopologyOptions { LocalZone = "zone-b", LocalNode = "node-elsewhere" });
        balancer.Update(ThreeZones());

        List<(Endpoint Endpoint, PickOutcome Outcome)> placed = Acquire(balancer, 300);

        Assert.All(placed, p => Assert.Equal("zone-b", p.Endpoint.Zone));
        Assert.Equal(2, placed.Select(p => p.Endpoint).Distinct().Count());
    }

    [Fact]
    public void ZoneHints_OnEveryEndpoint_OverrideZoneLabels()
    {
        // The EndpointSlice controller lent zone-a one of zone-b's endpoints (zone-a has more capacity).
        Endpoint[] hinted =
        [
            new("10.0.1.1", 80, zone: "zone-a", zoneHints: ["zone-a"]),
            new("10.0.2.1", 80, zone: "zone-b", zoneHints: ["zone-a"]),
            new("10.0.2.2", 80, zone: "zone-b", zoneHints: ["zone-b"]),
            new("10.0.3.1", 80, zone: "zone-c", zoneHints: ["zone-c"]),
        ];
        LoadBalancer balancer = Create("round-robin", new TopologyOptions { LocalZone = "zone-a" });
        balancer.Update(hinted);

        Assert.Equal(["10.0.1.1:80", "10.0.2.1:80"], Acquire(balancer, 100).Select(p => p.Endpoint.Key).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ZoneHints_OnSomeEndpointsOnly_AreIgnoredAsKubeProxyIgnoresThem()
    {
        Endpoint[] partlyHinted =
        [
            new("10.0.1.1", 80, zone: "zone-a", zoneHints: ["zone-a"]),
            new("10.0.2.1", 80, zone: "zone-b"),
            new("10.0.3.1", 80, zone: "zone-c", zoneHints: ["zone-c"]),
        ];
        LoadBalancer balancer = Create("round-robin", new TopologyOptions { LocalZone = "zone-a" });
        balancer.Update(partlyHinted);

        Assert.Equal(3, Acquire(balancer, 90).Select(p => p.Endpoint).Distinct().Count());
    }

    [Fact]
    public void NodeHints_OverrideNodeNames()
    {
        Endpoint[] endpoints =
        [
            new("10.0.1.1", 80, nodeName: "node-1", nodeHints: ["node-2"]),
            new("10.0.1.2", 80, nodeName: "node-2", nodeHints: ["node-3"]),
        ];
        LoadBalancer balancer = Create("random", new TopologyOptions { LocalNode = "node-2" });
        balancer.Update(endpoints);

        Assert.All(Acquire(balancer, 100), p => Assert.Equal("10.0.1.1:80", p.Endpoint.Key));
    }

    [Fact]
    public void RequireHints_EndpointsWithoutHints_NoPreference()
    {
        LoadBalancer balancer = Create("round-robin", new TopologyOptions { LocalZone = "zone-a", RequireHints = true });
        balancer.Update(ThreeZones());

        Assert.Equal(6, Acquire(balancer, 60).Select(p => p.Endpoint).Distinct().Count());
    }

    [Fact]
    public void LocalWeightZero_NeverCountsAsLocal()
    {
        Endpoint[] endpoints =
        [
            new("10.0.1.1", 80, weight: 0, zone: "zone-a"),
            new("10.0.2.1", 80, zone: "zone-b"),
        ];
        LoadBalancer balancer = Create("maglev", new TopologyOptions { LocalZone = "zone-a" });
        balancer.Update(endpoints);

        Assert.All(Acquire(balancer, 50), p => Assert.Equal(("10.0.2.1:80", PickOutcome.Home), (p.Endpoint.Key, p.Outcome)));
    }

    [Theory]
    [InlineData("bounded-load")]
    [InlineData("maglev-bounded")]
    public void Acquire_LocalZoneAtCapacity_SpillsRemoteAndNoEndpointExceedsItsCap(string picker)
    {
        LoadBalancer balancer = Create(picker, new TopologyOptions { LocalZone = "zone-a" });
        balancer.Update(ThreeZones());
        List<EndpointLease> held = [];

        for (int i = 0; i < 120; i++)
        {
            held.Add(balancer.Acquire($"user-{i}"));
        }

        // c = 1.25, 6 endpoints of weight 1: the cap at the final total is ceil(1.25 · 120 / 6) = 25, and every
        // placement was checked against a cap no larger than that.
        Dictionary<string, int> inFlight = balancer.GetStatus().ToDictionary(s => s.Endpoint.Key, s => s.InFlight);
        Assert.All(inFlight.Values, count => Assert.InRange(count, 0, 25));
        Assert.Equal(50, inFlight["10.0.1.1:80"] + inFlight["10.0.1.2:80"]);
        Assert.Equal(70, held.Count(l => l.Outcome == PickOutcome.Remote));
        Assert.All(held.Where(l => l.Outcome == PickOutcome.Remote), l => Assert.NotEqual("zone-a", l.Endpoint.Zone));

        foreach (EndpointLease lease in held)
        {
            lease.Dispose();
        }

        Assert.All(balancer.GetStatus(), s => Assert.Equal(0, s.InFlight));
        Assert.All(Acquire(balancer, 100), p => Assert.Equal("zone-a", p.Endpoint.Zone));
    }

    [Theory]
    [InlineData("consistent-hash")]
    [InlineData("maglev")]
    public void Pick_RemovingARemoteEndpoint_MovesNoLocalPlacement(string picker)
    {
        LoadBalancer balancer = Create(picker, new TopologyOptions { LocalZone = "zone-a" });
        Endpoint[] endpoints = [.. Enumerable.Range(1, 30).Select(i => new Endpoint($"10.0.0.{i}", 80, zone: i % 3 == 0 ? "zone-a" : "zone-b"))];
        balancer.Update(endpoints);
        string[] keys = TestEndpoints.Keys(2000, seed: 5);
        Endpoint[] before = [.. keys.Select(k => balancer.Pick(k))];

        balancer.Remove(endpoints.First(e => e.Zone == "zone-b"));

        Assert.Equal(before, keys.Select(k => balancer.Pick(k)));
        Assert.Equal(10, before.Distinct().Count());
    }

    [Fact]
    public void Update_ZoneOfAnEndpointChanges_LocalSetFollows()
    {
        LoadBalancer balancer = Create("consistent-hash", new TopologyOptions { LocalZone = "zone-a" });
        balancer.Update(ThreeZones());

        balancer.Update([.. ThreeZones().Select(e => e.Key == "10.0.3.1:80" ? new Endpoint(e.Host, e.Port, zone: "zone-a") : e)]);

        Assert.Equal(3, Acquire(balancer, 600).Select(p => p.Endpoint).Distinct().Count());
    }

    [Fact]
    public void Topology_WithoutZoneOrNode_IsRejectedSayingWhatItNeeds()
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() => new RoundRobinBalancer(new LoadBalancerOptions { Topology = new TopologyOptions() }));

        Assert.Contains("LocalZone, LocalNode or both", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Topology_OptionsChangedAfterConstruction_DoNotApply()
    {
        TopologyOptions topology = new() { LocalZone = "zone-a" };
        LoadBalancer balancer = Create("round-robin", topology);

        topology.LocalZone = "zone-b";
        balancer.Update(ThreeZones());

        Assert.All(Acquire(balancer, 20), p => Assert.Equal("zone-a", p.Endpoint.Zone));
    }

    private static LoadBalancer Create(string picker, TopologyOptions topology, FakeTimeProvider? time = null)
        => LoadBalancerTests.Create(picker, configure: options =>
        {
            options.Topology = topology;
            options.TimeProvider = time ?? new FakeTimeProvider();
            options.OutlierEjection = new OutlierEjectionOptions
            {
                ConsecutiveFailures = 1,
                BaseEjectionTime = EjectionTime,
                MaxEjectionTime = TimeSpan.FromMinutes(1),
                MaxEjectedShare = 0.5,
            };
        });

    private static List<(Endpoint Endpoint, PickOutcome Outcome)> Acquire(LoadBalancer balancer, int count)
    {
        List<(Endpoint, PickOutcome)> placed = new(count);
        for (int i = 0; i < count; i++)
        {
            using EndpointLease lease = balancer.Acquire($"user-{i}");
            placed.Add((lease.Endpoint, lease.Outcome));
        }

        return placed;
    }

    private static List<Endpoint> Picks(LoadBalancer balancer, int count)
        => [.. Enumerable.Range(0, count).Select(i => balancer.Pick($"user-{i}"))];
}
