using System.Diagnostics;
using LockFree.Balancing.Kubernetes.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Yarp.ReverseProxy.Configuration;

namespace LockFree.Balancing.Yarp.Tests;

/// <summary>
/// A real YARP proxy on loopback, real Kestrel pods, and the fake API server serving Service <c>orders.shop</c>'s
/// EndpointSlices: the whole path a request takes in production, end to end.
/// </summary>
public sealed class ProxyTests
{
    private static Dictionary<string, string> Metadata(string hashKey, string? loadFactor = null)
    {
        var metadata = new Dictionary<string, string> { [LockFreeClusterMetadata.HashKey] = hashKey };
        if (loadFactor is not null)
        {
            metadata[LockFreeClusterMetadata.LoadFactor] = loadFactor;
        }

        return metadata;
    }

    private static async Task<(FakeCluster Api, Pod[] Pods)> StartPodsAsync(int count, int listed)
    {
        FakeCluster api = await FakeCluster.StartAsync("shop", "orders");
        var pods = new Pod[count];
        for (int i = 0; i < count; i++)
        {
            pods[i] = await Pod.StartAsync("p" + i);
        }

        foreach (Pod pod in pods.Take(listed))
        {
            api.Apply(pod.Slice);
        }

        return (api, pods);
    }

    private static async Task StopAllAsync(FakeCluster api, Pod[] pods)
    {
        foreach (Pod pod in pods)
        {
            await pod.DisposeAsync();
        }

        await api.DisposeAsync();
    }

    [Theory]
    [InlineData(LockFreeLoadBalancingPolicies.ConsistentHash)]
    [InlineData(LockFreeLoadBalancingPolicies.Maglev)]
    public async Task KeyedPolicy_StableService_EveryKeyAlwaysReachesOnePod(string policy)
    {
        (FakeCluster api, Pod[] pods) = await StartPodsAsync(4, 4);
        try
        {
            await using Proxy proxy = await Proxy.StartAsync(api, [Proxy.CatchAll("orders")],
                [Proxy.Cluster(policy, Metadata("header:x-user"), ("orders", "k8s://orders.shop:http"))]);
            await proxy.WaitForPodsAsync(pods);

            var podsByUser = new Dictionary<string, HashSet<string>>();
            for (int round = 0; round < 5; round++)
            {
                for (int user = 0; user < 40; user++)
                {
                    string pod = await proxy.GetAsync("/who", "user-" + user);
                    (podsByUser.TryGetValue("user-" + user, out HashSet<string>? seen) ? seen : podsByUser["user-" + user] = []).Add(pod);
                }
            }

            Assert.All(podsByUser.Values, seen => Assert.Single(seen));   // 100 % affinity while the set is stable
            Assert.Equal(4, podsByUser.Values.Select(s => s.Single()).Distinct().Count());
            Assert.Equal(1, proxy.Policy(policy).StateOf(proxy.ClusterState())!.Rebuilds);
        }
        finally
        {
            await StopAllAsync(api, pods);
        }
    }

    [Fact]
    public async Task Service_PodsAddedAndRemovedWhileRequestsRun_NoRequestFails()
    {
        (FakeCluster api, Pod[] pods) = await StartPodsAsync(5, 3);
        try
        {
            await using Proxy proxy = await Proxy.StartAsync(api, [Proxy.CatchAll("orders")],
                [Proxy.Cluster(LockFreeLoadBalancingPolicies.ConsistentHash, Metadata("header:x-user", "1.5"), ("orders", "k8s://orders.shop:http"))]);
            await proxy.WaitForPodsAsync(pods[0], pods[1], pods[2]);

            using var stop = new CancellationTokenSource();
            int sent = 0;
            var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
            Task[] clients = [.. Enumerable.Range(0, 6).Select(c => Task.Run(async () =>
            {
                for (int i = 0; !stop.IsCancellationRequested; i++)
                {
                    try
                    {
                        await proxy.GetAsync("/who", $"user-{c}-{i % 50}");
                        Interlocked.Increment(ref sent);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        failures.Enqueue(ex.Message);
                    }
                }
            }))];

            // Two pods join.
            await Eventually.TrueAsync(() => Volatile.Read(ref sent) > 100, "traffic to start");
            api.Apply(pods[3].Slice);
            api.Apply(pods[4].Slice);
            await proxy.WaitForPodsAsync(pods[0], pods[1], pods[2], pods[3], pods[4]);
            await Eventually.TrueAsync(() => pods[3].Hits > 0 && pods[4].Hits > 0, "the new pods to receive requests");

            // Two pods leave, as Kubernetes removes a terminating pod: out of the slice first, stopped once drained.
            foreach (Pod leaving in (Pod[])[pods[0], pods[2]])
            {
                api.Delete(leaving.Slice.Name);
            }

            await proxy.WaitForPodsAsync(pods[1], pods[3], pods[4]);
            LoadBalancer core = proxy.Policy(LockFreeLoadBalancingPolicies.ConsistentHash).StateOf(proxy.ClusterState())!.Current!.Core;
            string[] leavingKeys = [$"127.0.0.1:{pods[0].Port}", $"127.0.0.1:{pods[2].Port}"];
            await Eventually.TrueAsync(() => !core.GetStatus().Any(s => leavingKeys.Contains(s.Endpoint.Key) && s.InFlight > 0), "the proxy to drain the leaving pods");
            int before0 = pods[0].Hits;
            await pods[0].StopAsync();
            await pods[2].StopAsync();

            int mark = Volatile.Read(ref sent);
            await Eventually.TrueAsync(() => Volatile.Read(ref sent) > mark + 200, "traffic after the removals");
            await stop.CancelAsync();
            await Task.WhenAll(clients);

            Assert.Empty(failures);
            Assert.Equal(before0, pods[0].Hits);
            Assert.All(core.GetStatus(), s => Assert.Equal(0, s.InFlight));
        }
        finally
        {
            await StopAllAsync(api, pods);
        }
    }

    [Fact]
    public async Task Service_Change_ReachesTheProxyWithinMilliseconds()
    {
        (FakeCluster api, Pod[] pods) = await StartPodsAsync(2, 1);
        try
        {
            await using Proxy proxy = await Proxy.StartAsync(api, [Proxy.CatchAll("orders")],
                [Proxy.Cluster(LockFreeLoadBalancingPolicies.RoundRobin, null, ("orders", "k8s://orders.shop:http"))]);
            await proxy.WaitForPodsAsync(pods[0]);

            var clock = Stopwatch.StartNew();
            api.Apply(pods[1].Slice);
            await proxy.WaitForPodsAsync(pods);
            TimeSpan elapsed = clock.Elapsed;

            // The watch event, the change token, YARP's reload and the new destination list: milliseconds, not a DNS TTL
            // (--yarp-proxy prints 13-43 ms); the bound leaves room for a loaded CI machine.
            Assert.True(elapsed < TimeSpan.FromSeconds(3), $"the proxy took {elapsed.TotalMilliseconds:0} ms to see the new pod");
            var seen = new HashSet<string>();
            for (int i = 0; i < 4; i++)
            {
                seen.Add(await proxy.GetAsync("/who"));
            }

            Assert.Equal(["p0", "p1"], seen.Order());
        }
        finally
        {
            await StopAllAsync(api, pods);
        }
    }

    [Fact]
    public async Task BoundedLoads_HotKey_ThePodsNeverServeMoreThanTheCap()
    {
        (FakeCluster api, Pod[] pods) = await StartPodsAsync(4, 4);
        try
        {
            await using Proxy proxy = await Proxy.StartAsync(api, [Proxy.CatchAll("orders")],
                [Proxy.Cluster(LockFreeLoadBalancingPolicies.ConsistentHash, Metadata("header:x-user", "1.25"), ("orders", "k8s://orders.shop:http"))]);
            await proxy.WaitForPodsAsync(pods);

            // 20 held requests with one key: unbounded, all 20 would sit on the key's pod.
            Task<string>[] held = [.. Enumerable.Range(0, 20).Select(_ => proxy.GetAsync("/hold", "hot-user"))];
            await Eventually.TrueAsync(() => pods.Sum(p => p.Active) == 20, "20 requests held by the pods");

            // Cap = ceil(1.25 x 20 / 4) = 7, counted by the pods themselves.
            Assert.All(pods, p => Assert.InRange(p.MaxActive, 0, 7));
            Assert.True(pods.Count(p => p.Active > 0) >= 3);

            foreach (Pod pod in pods)
            {
                pod.Release();
            }

            await Task.WhenAll(held);
            LoadBalancer core = proxy.Policy(LockFreeLoadBalancingPolicies.ConsistentHash).StateOf(proxy.ClusterState())!.Current!.Core;
            await Eventually.TrueAsync(() => core.GetStatus().All(s => s.InFlight == 0), "the in-flight counts to return to 0");
            Assert.All(core.GetStatus(), s => Assert.Equal(0, s.IgnoredReleases));
        }
        finally
        {
            await StopAllAsync(api, pods);
        }
    }

    [Fact]
    public async Task SessionAffinity_PinnedRequests_CountInFlightOnTheirPod_UntilForwardingEnds()
    {
        (FakeCluster api, Pod[] pods) = await StartPodsAsync(3, 3);
        try
        {
            ClusterConfig cluster = Proxy.Cluster(LockFreeLoadBalancingPolicies.PowerOfTwoChoices, null, ("orders", "k8s://orders.shop:http")) with
            {
                SessionAffinity = new SessionAffinityConfig { Enabled = true, Policy = "Cookie", AffinityKeyName = ".affinity" },
            };
            await using Proxy proxy = await Proxy.StartAsync(api, [Proxy.CatchAll("orders")], [cluster]);
            await proxy.WaitForPodsAsync(pods);

            // The first request is placed by the policy and gets YARP's affinity cookie; the next ones are pinned by it.
            using var client = new HttpClient(new SocketsHttpHandler { UseCookies = true }) { BaseAddress = proxy.Client.BaseAddress, Timeout = Proxy.WaitLimit };
            string home = await client.GetStringAsync("/who", Proxy.Limit());
            Pod pinned = pods.Single(p => p.Name == home);
            Task<string>[] held = [.. Enumerable.Range(0, 5).Select(_ => client.GetStringAsync("/hold", Proxy.Limit()))];
            await Eventually.TrueAsync(() => pinned.Active == 5, "5 pinned requests held by one pod");

            LoadBalancer core = proxy.Policy(LockFreeLoadBalancingPolicies.PowerOfTwoChoices).StateOf(proxy.ClusterState())!.Current!.Core;
            Assert.Equal(5, core.GetStatus().Single(s => s.Endpoint.Port == pinned.Port).InFlight);
            Assert.Equal(5, core.GetStatus().Sum(s => s.InFlight));

            pinned.Release();
            Assert.All(await Task.WhenAll(held), pod => Assert.Equal(home, pod));
            await Eventually.TrueAsync(() => core.GetStatus().All(s => s.InFlight == 0), "the counts to return to 0");
        }
        finally
        {
            await StopAllAsync(api, pods);
        }
    }

    [Fact]
    public async Task NonServiceDestinations_PassThroughUntouched_NextToAService()
    {
        (FakeCluster api, Pod[] pods) = await StartPodsAsync(3, 1);
        try
        {
            ClusterConfig mixed = Proxy.Cluster(LockFreeLoadBalancingPolicies.RoundRobin, null,
                ("svc", "k8s://orders.shop:http"), ("plain", $"http://127.0.0.1:{pods[1].Port}/"));
            ClusterConfig plain = new()
            {
                ClusterId = "plain-only",
                Destinations = new Dictionary<string, DestinationConfig> { ["only"] = new() { Address = $"http://localhost:{pods[2].Port}/" } },
            };
            await using Proxy proxy = await Proxy.StartAsync(api,
                [Proxy.CatchAll("orders"), Proxy.CatchAll("plain-only", "plain", "/plain/{**rest}")], [mixed, plain]);
            await proxy.WaitForPodsAsync(pods[0], pods[1]);

            Assert.Equal($"http://127.0.0.1:{pods[1].Port}/", proxy.ClusterState().Destinations["plain"].Model.Config.Address);
            Assert.Equal($"http://localhost:{pods[2].Port}/", Assert.Single(proxy.ClusterState("plain-only").Destinations.Values).Model.Config.Address);
            var seen = new HashSet<string>();
            for (int i = 0; i < 6; i++)
            {
                seen.Add(await proxy.GetAsync("/who"));
            }

            Assert.Equal(["p0", "p1"], seen.Order());
            Assert.Equal("p2", await proxy.GetAsync("/plain/x"));
        }
        finally
        {
            await StopAllAsync(api, pods);
        }
    }

    [Fact]
    public async Task BadMetadata_StopsTheProxyAtStart_WithTheReason()
    {
        FakeCluster api = await FakeCluster.StartAsync("shop", "orders");
        try
        {
            Exception error = await Assert.ThrowsAnyAsync<Exception>(() => Proxy.StartAsync(api, [Proxy.CatchAll("orders")],
                [Proxy.Cluster(LockFreeLoadBalancingPolicies.Maglev, Metadata("query:user"), ("a", "http://127.0.0.1:1/"))]));
            LockFreeConfigException reason = Find<LockFreeConfigException>(error) ?? throw new Xunit.Sdk.XunitException("no LockFreeConfigException in " + error);
            Assert.Equal("orders", reason.ClusterId);
            Assert.Contains("'query:user' is not a key source", reason.Message, StringComparison.Ordinal);
        }
        finally
        {
            await api.DisposeAsync();
        }
    }

    [Fact]
    public async Task BadServiceAddress_StopsTheProxyAtStart_WithTheAcceptedForms()
    {
        FakeCluster api = await FakeCluster.StartAsync("shop", "orders");
        try
        {
            Exception error = await Assert.ThrowsAnyAsync<Exception>(() => Proxy.StartAsync(api, [Proxy.CatchAll("orders")],
                [Proxy.Cluster(LockFreeLoadBalancingPolicies.RoundRobin, null, ("a", "k8s://Orders_Shop:http"))]));
            LockFreeConfigException reason = Find<LockFreeConfigException>(error) ?? throw new Xunit.Sdk.XunitException("no LockFreeConfigException in " + error);
            Assert.Contains("k8s://name.namespace", reason.Message, StringComparison.Ordinal);
        }
        finally
        {
            await api.DisposeAsync();
        }
    }

    [Fact]
    public async Task Reload_BadMetadata_KeepsThePreviousConfiguration_AGoodChange_AppliesWithANewPicker()
    {
        (FakeCluster api, Pod[] pods) = await StartPodsAsync(3, 3);
        try
        {
            RouteConfig[] routes = [Proxy.CatchAll("orders")];
            var listener = new ApplyListener();
            await using Proxy proxy = await Proxy.StartAsync(api, routes,
                [Proxy.Cluster(LockFreeLoadBalancingPolicies.Maglev, Metadata("header:x-user"), ("orders", "k8s://orders.shop:http"))],
                more => more.AddSingleton<global::Yarp.ReverseProxy.Configuration.IConfigChangeListener>(listener));
            await proxy.WaitForPodsAsync(pods);
            string home = await proxy.GetAsync("/who", "user-7");
            LoadBalancer before = proxy.Policy(LockFreeLoadBalancingPolicies.Maglev).StateOf(proxy.ClusterState())!.Current!.Core;
            var memory = proxy.App.Services.GetRequiredService<global::Yarp.ReverseProxy.Configuration.InMemoryConfigProvider>();

            // A reload with a bad value: YARP logs it and keeps serving the previous configuration.
            ClusterConfig bad = Proxy.Cluster(LockFreeLoadBalancingPolicies.Maglev, Metadata("header:x-user", "0.9"), ("orders", "k8s://orders.shop:http"));
            memory.Update(routes, [bad]);
            Exception failure = await listener.Failed.Task.WaitAsync(Proxy.Limit());
            Assert.Contains("LoadFactor", Find<LockFreeConfigException>(failure)!.Message, StringComparison.Ordinal);
            Assert.False(proxy.ClusterState().Model.Config.Metadata!.ContainsKey(LockFreeClusterMetadata.LoadFactor));
            Assert.Equal(home, await proxy.GetAsync("/who", "user-7"));

            // A good change of key source: applied, with a new core (the settings differ).
            memory.Update(routes, [Proxy.Cluster(LockFreeLoadBalancingPolicies.Maglev, Metadata("cookie:session"), ("orders", "k8s://orders.shop:http"))]);
            await Eventually.TrueAsync(() => proxy.ClusterState().Model.Config.Metadata![LockFreeClusterMetadata.HashKey] == "cookie:session", "the reload to apply");
            using var request = new HttpRequestMessage(HttpMethod.Get, "/who");
            request.Headers.Add("Cookie", "session=abc");
            using HttpResponseMessage response = await proxy.Client.SendAsync(request, Proxy.Limit());
            response.EnsureSuccessStatusCode();
            Assert.NotSame(before, proxy.Policy(LockFreeLoadBalancingPolicies.Maglev).StateOf(proxy.ClusterState())!.Current!.Core);
        }
        finally
        {
            await StopAllAsync(api, pods);
        }
    }

    private sealed class ApplyListener : global::Yarp.ReverseProxy.Configuration.IConfigChangeListener
    {
        public TaskCompletionSource<Exception> Failed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void ConfigurationApplied(IReadOnlyList<global::Yarp.ReverseProxy.Configuration.IProxyConfig> proxyConfigs)
        {
        }

        public void ConfigurationApplyingFailed(IReadOnlyList<global::Yarp.ReverseProxy.Configuration.IProxyConfig> proxyConfigs, Exception exception) => Failed.TrySetResult(exception);

        public void ConfigurationLoaded(IReadOnlyList<global::Yarp.ReverseProxy.Configuration.IProxyConfig> proxyConfigs)
        {
        }

        public void ConfigurationLoadingFailed(global::Yarp.ReverseProxy.Configuration.IProxyConfigProvider configProvider, Exception exception)
        {
        }
    }

    private static T? Find<T>(Exception? error)
        where T : Exception
    {
        for (; error is not null; error = error.InnerException)
        {
            if (error is T found)
            {
                return found;
            }

            if (error is AggregateException aggregate)
            {
                foreach (Exception inner in aggregate.InnerExceptions)
                {
                    if (Find<T>(inner) is T nested)
                    {
                        return nested;
                    }
                }
            }
        }

        return null;
    }
}
