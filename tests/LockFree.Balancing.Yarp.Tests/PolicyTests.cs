using System.Net;
using LockFree.Balancing.Yarp.Policies;
using Microsoft.AspNetCore.Http;
using Xunit;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;
using static LockFree.Balancing.Yarp.Tests.TestClusters;

namespace LockFree.Balancing.Yarp.Tests;

public sealed class PolicyTests
{
    [Fact]
    public void PickDestination_SameHeaderKey_SameDestinationEveryTime()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.ConsistentHash);
        DestinationState[] destinations = Destinations(10);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.ConsistentHash, "header:x-user"), destinations);
        IReadOnlyList<DestinationState> available = cluster.DestinationsState.AvailableDestinations;

        var homes = new HashSet<string>();
        for (int i = 0; i < 200; i++)
        {
            DefaultHttpContext context = Request("user-42");
            homes.Add(policy.PickDestination(context, cluster, available)!.DestinationId);
            HeldLease.ReleaseFrom(context);
        }

        Assert.Single(homes);
    }

    [Fact]
    public void PickDestination_DifferentKeys_SpreadOverTheDestinations()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.Maglev);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.Maglev, "header:x-user"), Destinations(4));
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < 4000; i++)
        {
            DefaultHttpContext context = Request("user-" + i);
            string id = policy.PickDestination(context, cluster, cluster.DestinationsState.AvailableDestinations)!.DestinationId;
            counts[id] = counts.GetValueOrDefault(id) + 1;
            HeldLease.ReleaseFrom(context);
        }

        Assert.Equal(4, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 800, 1200));
    }

    [Fact]
    public void PickDestination_SameListObject_BuildsOnce_NewListWithSameDestinations_ReusesTheTable()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.RoundRobin);
        DestinationState[] destinations = Destinations(5);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.RoundRobin), destinations);
        for (int i = 0; i < 100; i++)
        {
            policy.PickDestination(Request(), cluster, cluster.DestinationsState.AvailableDestinations);
        }

        ClusterBalancer state = policy.StateOf(cluster)!;
        Assert.Equal(1, state.Rebuilds);

        // A health flip and back: a new list object holding the same destinations.
        Publish(cluster, destinations);
        policy.PickDestination(Request(), cluster, cluster.DestinationsState.AvailableDestinations);
        Assert.Equal(1, state.Rebuilds);
        Assert.Same(cluster.DestinationsState.AvailableDestinations, state.Current!.Source);

        // A destination leaves: one rebuild, and it is never picked again.
        Publish(cluster, destinations[1..]);
        var picked = new HashSet<string>();
        for (int i = 0; i < 100; i++)
        {
            picked.Add(policy.PickDestination(Request(), cluster, cluster.DestinationsState.AvailableDestinations)!.DestinationId);
        }

        Assert.Equal(2, state.Rebuilds);
        Assert.DoesNotContain("d0", picked);
        Assert.Equal(4, picked.Count);
    }

    [Fact]
    public void PickDestination_StaleListAfterAChange_ServedFromTheCurrentTable_WithoutRebuilding()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.RoundRobin);
        DestinationState[] destinations = Destinations(4);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.RoundRobin), destinations);
        IReadOnlyList<DestinationState> old = cluster.DestinationsState.AvailableDestinations;
        policy.PickDestination(Request(), cluster, old);
        Publish(cluster, [.. destinations, Destination(9)]);
        policy.PickDestination(Request(), cluster, cluster.DestinationsState.AvailableDestinations);
        int rebuilds = policy.StateOf(cluster)!.Rebuilds;

        // Requests that captured the old list before the change keep arriving: no flip-flop of the table.
        for (int i = 0; i < 50; i++)
        {
            DestinationState picked = policy.PickDestination(Request(), cluster, old)!;
            Assert.True(Holds(old, picked));
        }

        Assert.Equal(rebuilds, policy.StateOf(cluster)!.Rebuilds);
    }

    [Fact]
    public void PickDestination_WeightedRoundRobin_FollowsTheWeights()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.RoundRobin);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.RoundRobin), [Destination(0, weight: 3), Destination(1, weight: 1), Destination(2, weight: 0)]);
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < 400; i++)
        {
            string id = policy.PickDestination(Request(), cluster, cluster.DestinationsState.AvailableDestinations)!.DestinationId;
            counts[id] = counts.GetValueOrDefault(id) + 1;
        }

        Assert.Equal(300, counts["d0"]);
        Assert.Equal(100, counts["d1"]);
        Assert.False(counts.ContainsKey("d2"));
    }

    [Fact]
    public void PickDestination_PowerOfTwoChoices_AvoidsTheDestinationsHoldingRequests()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.PowerOfTwoChoices);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.PowerOfTwoChoices), Destinations(2));
        IReadOnlyList<DestinationState> available = cluster.DestinationsState.AvailableDestinations;

        // Ten requests in flight (never released): the counts taken at the pick keep the two within one of each other.
        var held = new List<HttpContext>();
        for (int i = 0; i < 10; i++)
        {
            DefaultHttpContext context = Request();
            policy.PickDestination(context, cluster, available);
            held.Add(context);
        }

        IReadOnlyList<EndpointStatus> status = policy.StateOf(cluster)!.Current!.Core.GetStatus();
        Assert.Equal(10, status.Sum(s => s.InFlight));
        Assert.All(status, s => Assert.Equal(5, s.InFlight));
        held.ForEach(c => HeldLease.ReleaseFrom(c));
        Assert.All(policy.StateOf(cluster)!.Current!.Core.GetStatus(), s => Assert.Equal(0, s.InFlight));
    }

    [Fact]
    public void PickDestination_BoundedLoads_CapsAHotKey()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.ConsistentHash);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.ConsistentHash, "header:x-user", "1.25"), Destinations(4));
        var held = new List<HttpContext>();
        for (int i = 0; i < 40; i++)
        {
            DefaultHttpContext context = Request("hot");
            policy.PickDestination(context, cluster, cluster.DestinationsState.AvailableDestinations);
            held.Add(context);
        }

        // Cap = ceil(1.25 * 40 / 4) = 13 requests per destination.
        IReadOnlyList<EndpointStatus> status = policy.StateOf(cluster)!.Current!.Core.GetStatus();
        Assert.All(status, s => Assert.InRange(s.InFlight, 0, 13));
        Assert.True(status.Count(s => s.InFlight > 0) >= 3);
        held.ForEach(c => HeldLease.ReleaseFrom(c));
    }

    [Fact]
    public void PickDestination_NoKey_SpreadsLikeFreshKeys()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.ConsistentHash);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.ConsistentHash, "header:x-user"), Destinations(4));
        var picked = new HashSet<string>();
        for (int i = 0; i < 200; i++)
        {
            DefaultHttpContext context = Request(user: null);
            picked.Add(policy.PickDestination(context, cluster, cluster.DestinationsState.AvailableDestinations)!.DestinationId);
            HeldLease.ReleaseFrom(context);
        }

        Assert.Equal(4, picked.Count);
    }

    [Theory]
    [InlineData("cookie:session")]
    [InlineData("route:id")]
    [InlineData("client-ip")]
    public void PickDestination_EveryKeySource_IsSticky(string source)
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.Maglev);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.Maglev, source), Destinations(16));
        var byKey = new Dictionary<int, HashSet<string>>();
        for (int round = 0; round < 3; round++)
        {
            for (int key = 0; key < 50; key++)
            {
                DefaultHttpContext context = Request();
                context.Request.Headers.Cookie = $"theme=dark; session=\"s{key}\"";
                context.Request.RouteValues["id"] = "r" + key;
                context.Connection.RemoteIpAddress = IPAddress.Parse($"192.168.1.{key + 1}").MapToIPv6();
                DestinationState picked = policy.PickDestination(context, cluster, cluster.DestinationsState.AvailableDestinations)!;
                (byKey.TryGetValue(key, out HashSet<string>? set) ? set : byKey[key] = []).Add(picked.DestinationId);
                HeldLease.ReleaseFrom(context);
            }
        }

        Assert.All(byKey.Values, set => Assert.Single(set));
        Assert.True(byKey.Values.Select(s => s.Single()).Distinct().Count() > 8, "50 keys should reach most of 16 destinations");
    }

    [Fact]
    public void ClientIp_MappedAndPlainIpv4_PlaceTheSame()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.ConsistentHash);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.ConsistentHash, "client-ip"), Destinations(16));
        for (int i = 1; i < 40; i++)
        {
            DefaultHttpContext v4 = Request();
            v4.Connection.RemoteIpAddress = IPAddress.Parse("10.9.8." + i);
            DefaultHttpContext mapped = Request();
            mapped.Connection.RemoteIpAddress = v4.Connection.RemoteIpAddress.MapToIPv6();
            Assert.True(ReferenceEquals(policy.PickDestination(v4, cluster, cluster.DestinationsState.AvailableDestinations), policy.PickDestination(mapped, cluster, cluster.DestinationsState.AvailableDestinations)));
        }
    }

    [Fact]
    public async Task Forwarder_ReleasesTheCountWhenProxyingEnds_EvenWhenItThrows()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.PowerOfTwoChoices);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.PowerOfTwoChoices), Destinations(3));
        var gate = new TaskCompletionSource<ForwarderError>(TaskCreationOptions.RunContinuationsAsynchronously);
        var forwarder = new LeaseReleasingForwarder(new ScriptedForwarder(() => new ValueTask<ForwarderError>(gate.Task)), [policy]);
        var throwing = new LeaseReleasingForwarder(new ScriptedForwarder(() => throw new InvalidOperationException("boom")), [policy]);

        var sends = new List<Task<ForwarderError>>();
        for (int i = 0; i < 6; i++)
        {
            DefaultHttpContext context = Request();
            policy.PickDestination(context, cluster, cluster.DestinationsState.AvailableDestinations);
            sends.Add(forwarder.SendAsync(context, "http://x/", null!, ForwarderRequestConfig.Empty, HttpTransformer.Default).AsTask());
        }

        DefaultHttpContext failing = Request();
        policy.PickDestination(failing, cluster, cluster.DestinationsState.AvailableDestinations);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await throwing.SendAsync(failing, "http://x/", null!, ForwarderRequestConfig.Empty, HttpTransformer.Default));

        LoadBalancer core = policy.StateOf(cluster)!.Current!.Core;
        Assert.Equal(6, core.GetStatus().Sum(s => s.InFlight));
        gate.SetResult(ForwarderError.None);
        await Task.WhenAll(sends);
        Assert.All(core.GetStatus(), s => Assert.Equal(0, s.InFlight));
        Assert.All(core.GetStatus(), s => Assert.Equal(0, s.IgnoredReleases));
    }

    [Fact]
    public void PickDestination_TwiceOnOneRequest_HoldsOneCount()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.PowerOfTwoChoices);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.PowerOfTwoChoices), Destinations(3));
        DefaultHttpContext context = Request();
        policy.PickDestination(context, cluster, cluster.DestinationsState.AvailableDestinations);
        policy.PickDestination(context, cluster, cluster.DestinationsState.AvailableDestinations);
        LoadBalancer core = policy.StateOf(cluster)!.Current!.Core;
        Assert.Equal(1, core.GetStatus().Sum(s => s.InFlight));
        Assert.True(HeldLease.ReleaseFrom(context));
        Assert.False(HeldLease.ReleaseFrom(context));
        Assert.Equal(0, core.GetStatus().Sum(s => s.InFlight));
    }

    [Fact]
    public async Task PickDestination_ManyThreadsWhileTheSetChanges_EveryPickIsInTheListAndCountsReturnToZero()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.ConsistentHash);
        DestinationState[] all = Destinations(8);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.ConsistentHash, "header:x-user", "1.5"), all);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int done = 0;
        Task[] pickers = [.. Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                IReadOnlyList<DestinationState> list = cluster.DestinationsState.AvailableDestinations;
                DefaultHttpContext context = Request("k" + (i % 97));
                DestinationState? picked = policy.PickDestination(context, cluster, list);
                Assert.NotNull(picked);
                Assert.True(Holds(all, picked));
                HeldLease.ReleaseFrom(context);
            }

            Interlocked.Increment(ref done);
        }, stop.Token))];

        var random = new Random(7);
        while (Volatile.Read(ref done) < pickers.Length && !stop.IsCancellationRequested)
        {
            Publish(cluster, [.. all.Where(_ => random.Next(4) != 0).DefaultIfEmpty(all[0])]);
            await Task.Yield();
        }

        await Task.WhenAll(pickers);
        Assert.All(policy.StateOf(cluster)!.Current!.Core.GetStatus(), s => Assert.Equal(0, s.InFlight));
    }

    // DestinationState is a list of itself: xunit's Assert.Contains would recurse into it forever.
    private static bool Holds(IEnumerable<DestinationState> list, DestinationState destination) => list.Any(d => ReferenceEquals(d, destination));
}
