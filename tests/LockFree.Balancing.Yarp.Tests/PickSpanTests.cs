using System.Collections.Concurrent;
using System.Diagnostics;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Yarp.Policies;
using Xunit;
using Yarp.ReverseProxy.Model;
using static LockFree.Balancing.Yarp.Tests.TestClusters;

namespace LockFree.Balancing.Yarp.Tests;

/// <summary>
/// The opt-in <c>lockfree.pick</c> span on the <c>LockFree.Balancing.Yarp</c> source: one per pick, a child of the
/// proxied request's server span, naming the cluster, the policy, the outcome and the destination the request reached;
/// an Error span when no destination can take the request. Never the key.
/// </summary>
[Collection(nameof(AllocationMeasurement))]
public sealed class PickSpanTests
{
    private const string AspNetCoreSource = "Microsoft.AspNetCore";

    [Fact]
    public async Task PickSpan_ThroughTheProxy_OnePerRequest_AChildOfTheServerSpan_NamesThePodItReached()
    {
        FakeCluster api = await FakeCluster.StartAsync("shop", "orders");
        Pod[] pods = [await Pod.StartAsync("p0"), await Pod.StartAsync("p1"), await Pod.StartAsync("p2")];
        try
        {
            foreach (Pod pod in pods)
            {
                api.Apply(pod.Slice);
            }

            await using Proxy proxy = await Proxy.StartAsync(api, [Proxy.CatchAll("orders")],
                [Proxy.Cluster(LockFreeLoadBalancingPolicies.Maglev, new Dictionary<string, string> { [LockFreeClusterMetadata.HashKey] = "header:x-user" }, ("orders", "k8s://orders.shop:http"))]);
            await proxy.WaitForPodsAsync(pods);
            using var spans = new SpanRecorder(YarpTracing.SourceName, AspNetCoreSource);

            var reached = new List<string>();
            for (int i = 0; i < 6; i++)
            {
                reached.Add(await proxy.GetAsync("/who", "user-secret-" + i));
            }

            Activity[] picks = spans.Picks;
            // The proxy's server spans are the roots; the pods (Kestrel in this process too) continue the forwarded traces.
            Activity[] requests = [.. spans.Stopped.Where(a => a.Source.Name == AspNetCoreSource && a.ParentSpanId == default)];
            Assert.Equal(6, picks.Length);
            Assert.Equal(6, requests.Length);
            foreach (Activity pick in picks)
            {
                Assert.Single(requests, r => r.SpanId == pick.ParentSpanId); // a child of its request's server span
                Assert.Equal("lockfree.pick", pick.OperationName);
                Assert.Equal(ActivityKind.Internal, pick.Kind);
                Assert.Equal(ActivityStatusCode.Unset, pick.Status);
                Assert.Equal("orders", pick.GetTagItem("lockfree.yarp.cluster"));
                Assert.Equal(LockFreeLoadBalancingPolicies.Maglev, pick.GetTagItem("lockfree.picker"));
                Assert.Equal("home", pick.GetTagItem("lockfree.pick.outcome"));
                Assert.Equal("127.0.0.1", pick.GetTagItem("network.peer.address"));
                Assert.Equal(
                    ["lockfree.pick.outcome", "lockfree.picker", "lockfree.yarp.cluster", "network.peer.address", "network.peer.port"],
                    pick.TagObjects.Select(t => t.Key).Order()); // never the key
                Assert.Equal(YarpTracing.SourceName, pick.Source.Name);
            }

            // Each span names the pod that answered its request (requests run one after another, spans end in order).
            string[] named = [.. picks.Select(p => pods.Single(pod => pod.Port == (int)p.GetTagItem("network.peer.port")!).Name)];
            Assert.Equal(reached, named);
        }
        finally
        {
            foreach (Pod pod in pods)
            {
                await pod.DisposeAsync();
            }

            await api.DisposeAsync();
        }
    }

    [Fact]
    public void PickSpan_EveryDestinationAtWeightZero_IsAnErrorNamedNoEndpoints()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.RoundRobin);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.RoundRobin), [Destination(0, weight: 0), Destination(1, weight: 0)]);
        using var spans = new SpanRecorder(YarpTracing.SourceName);

        Assert.Null(policy.PickDestination(Request(), cluster, cluster.DestinationsState.AvailableDestinations));

        Activity pick = Assert.Single(spans.Picks);
        Assert.Equal(ActivityStatusCode.Error, pick.Status);
        Assert.Equal("no_endpoints", pick.GetTagItem("error.type"));
        Assert.Equal("none", pick.GetTagItem("lockfree.pick.outcome"));
        Assert.Equal("c", pick.GetTagItem("lockfree.yarp.cluster"));
        Assert.Contains("cluster 'c'", pick.StatusDescription, StringComparison.Ordinal);
        Assert.Contains("weight 0", pick.StatusDescription, StringComparison.Ordinal);
        Assert.Null(pick.GetTagItem("network.peer.address"));
    }

    [Fact]
    public void PickSpan_DirectPick_NamesTheReturnedDestination()
    {
        LockFreeLoadBalancingPolicy policy = Policy(PolicyKind.PowerOfTwoChoices);
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.PowerOfTwoChoices), Destinations(4));
        using var spans = new SpanRecorder(YarpTracing.SourceName);

        var returned = new List<string>();
        for (int i = 0; i < 8; i++)
        {
            var context = Request();
            DestinationState picked = policy.PickDestination(context, cluster, cluster.DestinationsState.AvailableDestinations)!;
            returned.Add(new Uri(picked.Model.Config.Address).Host);
            Assert.True(HeldLease.ReleaseFrom(context));
        }

        Assert.Equal(returned, spans.Picks.Select(p => (string)p.GetTagItem("network.peer.address")!));
        Assert.All(spans.Picks, p => Assert.Equal(8080, p.GetTagItem("network.peer.port")));
    }

    /// <summary>Listens to the given sources; keeps every stopped span (the test project runs serially).</summary>
    private sealed class SpanRecorder : IDisposable
    {
        private readonly ActivityListener _listener;

        public SpanRecorder(params string[] sources)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => sources.Contains(source.Name),
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = Stopped.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public ConcurrentQueue<Activity> Stopped { get; } = new();

        public Activity[] Picks => [.. Stopped.Where(a => a.OperationName == "lockfree.pick")];

        public void Dispose() => _listener.Dispose();
    }
}
