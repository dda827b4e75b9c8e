using LockFree.Balancing.Yarp.Policies;
using Microsoft.AspNetCore.Http;
using Xunit;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;
using static LockFree.Balancing.Yarp.Tests.TestClusters;

namespace LockFree.Balancing.Yarp.Tests;

/// <summary>
/// Who counts a request in flight, and for how long: the pick (power of two choices, bounded loads) or the forwarder
/// wrapper (round robin, unbounded hashing, requests YARP routed itself); either way exactly one count per forwarded
/// request, on the destination it goes to, from the call until it returns. Also the thread's recent table, which must
/// never hand one cluster or policy another's table.
/// </summary>
public sealed class ForwardedCountTests
{
    public static TheoryData<string, string?, string?> Uncounted() => new()
    {
        { LockFreeLoadBalancingPolicies.RoundRobin, null, null },
        { LockFreeLoadBalancingPolicies.ConsistentHash, "header:x-user", null },
        { LockFreeLoadBalancingPolicies.Maglev, "client-ip", null },
    };

    public static TheoryData<string, string?, string?> Counted() => new()
    {
        { LockFreeLoadBalancingPolicies.PowerOfTwoChoices, null, null },
        { LockFreeLoadBalancingPolicies.ConsistentHash, "header:x-user", "1.25" },
        { LockFreeLoadBalancingPolicies.Maglev, "header:x-user", "1.5" },
    };

    [Theory]
    [MemberData(nameof(Uncounted))]
    public async Task UncountedPolicy_PickHoldsNothing_TheWrapperCountsTheCallOnItsDestination_UntilItReturns(string name, string? hashKey, string? loadFactor)
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKinds.FromName(name)!.Value);
        ClusterState cluster = Cluster(Config(name, hashKey, loadFactor), Destinations(4));
        await AssertOneCountPerCall(policy, cluster, countedAtPick: false);
    }

    [Theory]
    [MemberData(nameof(Counted))]
    public async Task CountingPolicy_PickCounts_TheWrapperTakesThatCount_UntilTheCallReturns(string name, string? hashKey, string? loadFactor)
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKinds.FromName(name)!.Value);
        ClusterState cluster = Cluster(Config(name, hashKey, loadFactor), Destinations(4));
        await AssertOneCountPerCall(policy, cluster, countedAtPick: true);
    }

    [Fact]
    public async Task Wrapper_ThreadLastPickedAnotherCluster_CountsOnTheRequestsOwnCluster()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.RoundRobin);
        ClusterState mine = Cluster(Config(LockFreeLoadBalancingPolicies.RoundRobin), Destinations(3));
        ClusterState other = Cluster(Config(LockFreeLoadBalancingPolicies.RoundRobin), Destinations(3));
        var gate = new TaskCompletionSource<ForwarderError>(TaskCreationOptions.RunContinuationsAsynchronously);
        var forwarder = new LeaseReleasingForwarder(new ScriptedForwarder(() => new ValueTask<ForwarderError>(gate.Task)), [policy]);

        DefaultHttpContext context = Request();
        ProxyFeature feature = Route(context, mine);
        feature.ProxiedDestination = policy.PickDestination(context, mine, mine.DestinationsState.AvailableDestinations);

        // Another request's pick runs on this thread between the pick and the forwarder (middleware that awaited).
        _ = policy.PickDestination(Request(), other, other.DestinationsState.AvailableDestinations);
        Task<ForwarderError> call = forwarder.SendAsync(context, "http://x/", null!, ForwarderRequestConfig.Empty, HttpTransformer.Default).AsTask();

        Assert.Equal(1, InFlightOn(policy, mine, feature.ProxiedDestination!));
        Assert.Equal(0, policy.StateOf(other)!.Current!.Core.GetStatus().Sum(s => s.InFlight));
        gate.SetResult(ForwarderError.None);
        await call;
        Assert.All(policy.StateOf(mine)!.Current!.Core.GetStatus(), s => Assert.Equal(0, s.InFlight));
    }

    [Fact]
    public async Task Wrapper_OnAnotherThreadThanThePick_CountsOnThePickedDestination()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.Maglev);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.Maglev, "header:x-user"), Destinations(5));
        var gate = new TaskCompletionSource<ForwarderError>(TaskCreationOptions.RunContinuationsAsynchronously);
        var forwarder = new LeaseReleasingForwarder(new ScriptedForwarder(() => new ValueTask<ForwarderError>(gate.Task)), [policy]);
        DefaultHttpContext context = Request("user-7");
        ProxyFeature feature = Route(context, cluster);
        feature.ProxiedDestination = policy.PickDestination(context, cluster, cluster.DestinationsState.AvailableDestinations);

        // A fresh thread has no recent table: the wrapper finds the cluster's table through the policy.
        Task<ForwarderError> call = await Task.Factory.StartNew(
            () => forwarder.SendAsync(context, "http://x/", null!, ForwarderRequestConfig.Empty, HttpTransformer.Default).AsTask(),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        Assert.Equal(1, InFlightOn(policy, cluster, feature.ProxiedDestination!));
        gate.SetResult(ForwarderError.None);
        await call;
        Assert.All(policy.StateOf(cluster)!.Current!.Core.GetStatus(), s => Assert.Equal(0, s.InFlight));
    }

    [Fact]
    public void Wrapper_ClusterConfigNamesAnotherPolicy_CountsNothing()
    {
        // Our policy picked directly for a cluster whose configuration names YARP's round robin: YARP's pipeline would
        // never have asked ours, so the wrapper must not count the request on our table.
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.RoundRobin);
        ClusterState cluster = Cluster(Config("RoundRobin"), Destinations(3));
        int inFlightDuringTheCall = -1;
        var forwarder = new LeaseReleasingForwarder(new ScriptedForwarder(() =>
        {
            inFlightDuringTheCall = policy.StateOf(cluster)!.Current!.Core.GetStatus().Sum(s => s.InFlight);
            return new ValueTask<ForwarderError>(ForwarderError.None);
        }), [policy]);
        DefaultHttpContext context = Request();
        ProxyFeature feature = Route(context, cluster);
        feature.ProxiedDestination = policy.PickDestination(context, cluster, cluster.DestinationsState.AvailableDestinations);

        Assert.Equal(ForwarderError.None, SendNow(forwarder, context));
        Assert.Equal(0, inFlightDuringTheCall);
        Assert.All(policy.StateOf(cluster)!.Current!.Core.GetStatus(), s => Assert.Equal(0, s.IgnoredReleases));
    }

    [Fact]
    public void Wrapper_SecondCallOnOneRequest_TakesNoSecondPickCount()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.PowerOfTwoChoices);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.PowerOfTwoChoices), Destinations(3));
        var during = new List<int>();
        var forwarder = new LeaseReleasingForwarder(new ScriptedForwarder(() =>
        {
            during.Add(policy.StateOf(cluster)!.Current!.Core.GetStatus().Sum(s => s.InFlight));
            return new ValueTask<ForwarderError>(ForwarderError.None);
        }), [policy]);
        DefaultHttpContext context = Request();
        ProxyFeature feature = Route(context, cluster);
        feature.ProxiedDestination = policy.PickDestination(context, cluster, cluster.DestinationsState.AvailableDestinations);

        // A retry middleware after load balancing calls the forwarder twice: the pick's count once, then a count of its own.
        Assert.Equal(ForwarderError.None, SendNow(forwarder, context));
        Assert.Equal(ForwarderError.None, SendNow(forwarder, context));
        Assert.Equal([1, 1], during);
        Assert.All(policy.StateOf(cluster)!.Current!.Core.GetStatus(), s => Assert.Equal(0, s.InFlight));
        Assert.All(policy.StateOf(cluster)!.Current!.Core.GetStatus(), s => Assert.Equal(0, s.IgnoredReleases));
    }

    [Theory]
    [InlineData(LockFreeLoadBalancingPolicies.RoundRobin, null, null)]
    [InlineData(LockFreeLoadBalancingPolicies.Maglev, "header:x-user", null)]
    [InlineData(LockFreeLoadBalancingPolicies.PowerOfTwoChoices, null, null)]
    [InlineData(LockFreeLoadBalancingPolicies.ConsistentHash, "header:x-user", "1.25")]
    public void PickDestination_ListNarrowedByMiddleware_PicksOnlyFromIt_WithoutRebuilding_CountsComeBack(string name, string? hashKey, string? loadFactor)
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKinds.FromName(name)!.Value);
        DestinationState[] all = Destinations(8);
        ClusterState cluster = Cluster(Config(name, hashKey, loadFactor), all);
        var forwarder = new LeaseReleasingForwarder(new ScriptedForwarder(() => new ValueTask<ForwarderError>(ForwarderError.None)), [policy]);
        DestinationState[] narrowed = [all[1], all[4], all[6]];
        DefaultHttpContext first = Request();
        Route(first, cluster).ProxiedDestination = policy.PickDestination(first, cluster, cluster.DestinationsState.AvailableDestinations);
        Assert.Equal(ForwarderError.None, SendNow(forwarder, first));

        for (int i = 0; i < 300; i++)
        {
            DefaultHttpContext context = Request("user-" + i);
            ProxyFeature feature = Route(context, cluster);
            DestinationState picked = policy.PickDestination(context, cluster, narrowed)!;
            Assert.True(Holds(narrowed, picked));
            feature.ProxiedDestination = picked;
            Assert.Equal(ForwarderError.None, SendNow(forwarder, context));
        }

        Assert.Equal(1, policy.StateOf(cluster)!.Rebuilds);
        Assert.All(policy.StateOf(cluster)!.Current!.Core.GetStatus(), s => Assert.Equal(0, s.InFlight));
        Assert.All(policy.StateOf(cluster)!.Current!.Core.GetStatus(), s => Assert.Equal(0, s.IgnoredReleases));
    }

    [Fact]
    public void RecentTable_TwoClustersAlternatingOnOneThread_EachPicksFromItsOwnList_OneBuildEach()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.RoundRobin);
        DestinationState[] first = Destinations(3);
        DestinationState[] second = [.. Enumerable.Range(10, 3).Select(i => Destination(i))];
        ClusterState a = Cluster(Config(LockFreeLoadBalancingPolicies.RoundRobin), first);
        ClusterState b = Cluster(Config(LockFreeLoadBalancingPolicies.RoundRobin), second);

        for (int i = 0; i < 60; i++)
        {
            Assert.True(Holds(first, policy.PickDestination(Request(), a, a.DestinationsState.AvailableDestinations)));
            Assert.True(Holds(second, policy.PickDestination(Request(), b, b.DestinationsState.AvailableDestinations)));
        }

        Assert.Equal(1, policy.StateOf(a)!.Rebuilds);
        Assert.Equal(1, policy.StateOf(b)!.Rebuilds);
    }

    [Fact]
    public void RecentTable_TwoPoliciesOnOneCluster_EachKeepsItsOwnCycle()
    {
        // Two instances of one policy (as two containers in one process have): a table is never served to the other.
        LockFreeLoadBalancingPolicy one = Policy(PolicyKind.RoundRobin);
        LockFreeLoadBalancingPolicy two = Policy(PolicyKind.RoundRobin);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.RoundRobin), Destinations(4));
        IReadOnlyList<DestinationState> available = cluster.DestinationsState.AvailableDestinations;
        var byOne = new HashSet<string>();
        var byTwo = new HashSet<string>();
        for (int i = 0; i < 4; i++)
        {
            byOne.Add(one.PickDestination(Request(), cluster, available)!.DestinationId);
            byTwo.Add(two.PickDestination(Request(), cluster, available)!.DestinationId);
        }

        // Each cycle went round all four; a shared table would have given each policy every other destination.
        Assert.Equal(4, byOne.Count);
        Assert.Equal(4, byTwo.Count);
        Assert.NotSame(one.StateOf(cluster)!.Current, two.StateOf(cluster)!.Current);
    }

    [Fact]
    public async Task UncountedPicks_ManyThreadsWhileTheSetChanges_EveryPickIsInTheList_CountsReturnToZero()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.Maglev);
        DestinationState[] all = Destinations(8);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.Maglev, "header:x-user"), all);
        var forwarder = new LeaseReleasingForwarder(new ScriptedForwarder(() => new ValueTask<ForwarderError>(ForwarderError.None)), [policy]);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int done = 0;
        Task[] pickers = [.. Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (int i = 0; i < 20_000 && !stop.IsCancellationRequested; i++)
            {
                IReadOnlyList<DestinationState> list = cluster.DestinationsState.AvailableDestinations;
                DefaultHttpContext context = Request("k" + (i % 97));
                ProxyFeature feature = Route(context, cluster);
                DestinationState? picked = policy.PickDestination(context, cluster, list);
                Assert.NotNull(picked);
                Assert.True(Holds(all, picked));
                feature.ProxiedDestination = picked;
                Assert.Equal(ForwarderError.None, SendNow(forwarder, context));
            }

            Interlocked.Increment(ref done);
        }, stop.Token))];

        var random = new Random(11);
        while (Volatile.Read(ref done) < pickers.Length && !stop.IsCancellationRequested)
        {
            Publish(cluster, [.. all.Where(_ => random.Next(4) != 0).DefaultIfEmpty(all[0])]);
            await Task.Yield();
        }

        await Task.WhenAll(pickers);
        Assert.False(stop.IsCancellationRequested, "the pickers should finish well within the deadline");
        Assert.All(policy.StateOf(cluster)!.Current!.Core.GetStatus(), s => Assert.Equal(0, s.InFlight));
        Assert.All(policy.StateOf(cluster)!.Current!.Core.GetStatus(), s => Assert.Equal(0, s.IgnoredReleases));
    }

    /// <summary>
    /// Four requests picked, then forwarded with the inner forwarder held open: each holds one count on its destination
    /// (taken at the pick or by the wrapper, as <paramref name="countedAtPick"/> says) until its call returns.
    /// </summary>
    private static async Task AssertOneCountPerCall(LockFreeLoadBalancingPolicy policy, ClusterState cluster, bool countedAtPick)
    {
        var gate = new TaskCompletionSource<ForwarderError>(TaskCreationOptions.RunContinuationsAsynchronously);
        var forwarder = new LeaseReleasingForwarder(new ScriptedForwarder(() => new ValueTask<ForwarderError>(gate.Task)), [policy]);
        var requests = new List<(DefaultHttpContext Context, ProxyFeature Feature)>();
        for (int i = 0; i < 4; i++)
        {
            DefaultHttpContext context = Request("user-" + i);
            context.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("10.9.8." + (i + 1));
            ProxyFeature feature = Route(context, cluster);
            feature.ProxiedDestination = policy.PickDestination(context, cluster, cluster.DestinationsState.AvailableDestinations);
            requests.Add((context, feature));
        }

        LoadBalancer core = policy.StateOf(cluster)!.Current!.Core;
        Assert.Equal(countedAtPick ? 4 : 0, core.GetStatus().Sum(s => s.InFlight));

        var calls = requests.Select(r => forwarder.SendAsync(r.Context, "http://x/", null!, ForwarderRequestConfig.Empty, HttpTransformer.Default).AsTask()).ToList();
        Assert.Equal(4, core.GetStatus().Sum(s => s.InFlight));
        foreach (IGrouping<DestinationState, (DefaultHttpContext Context, ProxyFeature Feature)> group in requests.GroupBy(r => r.Feature.ProxiedDestination!))
        {
            Assert.Equal(group.Count(), InFlightOn(policy, cluster, group.Key));
        }

        gate.SetResult(ForwarderError.None);
        await Task.WhenAll(calls);
        Assert.All(core.GetStatus(), s => Assert.Equal(0, s.InFlight));
        Assert.All(core.GetStatus(), s => Assert.Equal(0, s.IgnoredReleases));
    }

    // DestinationState is a list of itself: xunit's Assert.Contains would recurse into it when it formats a failure.
    private static bool Holds(IEnumerable<DestinationState> list, DestinationState? destination) => list.Any(d => ReferenceEquals(d, destination));

    private static int InFlightOf(LoadBalancer core, DestinationState destination)
    {
        var address = new Uri(destination.Model.Config.Address);
        return core.GetStatus().Single(s => s.Endpoint.Host == address.Host && s.Endpoint.Port == address.Port).InFlight;
    }

    private static int InFlightOn(LockFreeLoadBalancingPolicy policy, ClusterState cluster, DestinationState destination)
        => InFlightOf(policy.StateOf(cluster)!.Current!.Core, destination);
}
