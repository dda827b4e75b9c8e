using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Grpc.Tests.Protos;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;

namespace LockFree.Balancing.Grpc.Tests;

/// <summary>
/// The opt-in <c>lockfree.pick</c> span on the <c>LockFree.Balancing.Grpc</c> source, started inside grpc-dotnet's
/// picker: a child of the call span, ended before the call span is tagged; an Error span when every endpoint is
/// ejected; nothing created, and nothing allocated, when nobody samples our source.
/// </summary>
/// <remarks>
/// Test classes run in parallel in this project. The recorders here sample only their own trace, so a pick of another
/// class's test (no parent, or another trace) is not sampled even while a recorder listens to our source: its
/// <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns null and allocates nothing (the allocation
/// tests in this class prove that too).
/// </remarks>
[Collection(nameof(AllocationMeasurement))]
public sealed class PickSpanTests(ITestOutputHelper output)
{
    private const string TestSourceName = "LockFree.Balancing.Grpc.Tests.PickSpans";
    private static readonly ActivitySource TestSource = new(TestSourceName);

    // Every path of the picker: an uncounted index pick (round robin, Maglev without load_factor), a counted placement
    // (P2C, bounded loads), and a keyless call on a hashing policy (the lesser loaded of two).
    [Theory]
    [InlineData("""{"lockfree_round_robin": {}}""", "lockfree_round_robin", false)]
    [InlineData("""{"lockfree_p2c": {}}""", "lockfree_p2c", false)]
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user"}}""", "lockfree_maglev", true)]
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user", "load_factor": 1.25}}""", "lockfree_maglev", true)]
    [InlineData("""{"lockfree_consistent_hash": {"hash_header": "x-user"}}""", "lockfree_consistent_hash", false)]
    public async Task PickSpan_EachCall_AChildOfTheCallSpan_CarriesServicePodOutcomeAndPolicy(string config, string policy, bool keyed)
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config(config), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        await TestWait.UntilAsync(() => PolicyTests.Policy(services).LastPicker is { Count: 2 }, "both subchannels are ready");
        using var spans = new SpanRecorder(GrpcTracing.SourceName, "Grpc.Net.Client");

        using (Activity parent = TestSource.StartActivity("test")!)
        {
            spans.Trace = parent.TraceId;
            for (int i = 0; i < 4; i++)
            {
                await client.WhoAsync(new WhoRequest(), keyed ? new global::Grpc.Core.Metadata { { "x-user", "user-secret-" + i } } : null, cancellationToken: GrpcCluster.Limit());
            }
        }

        Activity[] calls = [.. spans.Stopped.Where(a => a.OperationName == "Grpc.Net.Client.GrpcOut")];
        Activity[] picks = spans.Picks;
        Assert.Equal(4, calls.Length);
        Assert.Equal(4, picks.Length); // every subchannel ready: one pick per call
        int[] ports = [.. cluster.Pods.Select(p => p.Port)];
        foreach (Activity call in calls)
        {
            Activity pick = Assert.Single(picks, p => p.ParentSpanId == call.SpanId);
            Assert.Equal("lockfree.pick", pick.OperationName);
            Assert.Equal(ActivityKind.Internal, pick.Kind);
            Assert.Equal(ActivityStatusCode.Unset, pick.Status);
            Assert.Equal("web.shop", pick.GetTagItem("server.address"));
            Assert.Equal("127.0.0.1", pick.GetTagItem("network.peer.address"));
            Assert.Contains((int)pick.GetTagItem("network.peer.port")!, ports);
            Assert.Equal("home", pick.GetTagItem("lockfree.pick.outcome"));
            Assert.Equal(policy, pick.GetTagItem("lockfree.picker"));
            Assert.Equal(GrpcTracing.SourceName, pick.Source.Name);
            Assert.Equal(
                ["lockfree.pick.outcome", "lockfree.picker", "network.peer.address", "network.peer.port", "server.address"],
                pick.TagObjects.Select(t => t.Key).Order()); // never the key

            // The call span is tagged as before, with the same pod: ours had ended, so the call span was current again.
            Assert.Equal(pick.GetTagItem("network.peer.port"), call.GetTagItem("network.peer.port"));
            Assert.Equal("home", call.GetTagItem("lockfree.pick.outcome"));
        }
    }

    [Fact]
    public async Task PickSpan_EveryEndpointEjected_IsAnErrorNamedAllEjected()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(
            GrpcCluster.Config("""{"lockfree_p2c": {"outlier_ejection": {"consecutive_failures": 1, "max_ejected_share": 1}}}"""), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 2 }, "both subchannels are ready");
        for (int i = 0; i < 2 && policy.Core.TryAcquire(out EndpointLease lease); i++)
        {
            lease.Fail(); // one consecutive failure ejects it; the next acquire takes the other endpoint
        }

        Assert.All(policy.Core.GetStatus(), s => Assert.True(s.IsEjected));
        using var spans = new SpanRecorder(GrpcTracing.SourceName);
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://web.shop/lockfree.test.Echo/Who");

        using (Activity parent = TestSource.StartActivity("test")!)
        {
            spans.Trace = parent.TraceId;
            PickResult result = policy.LastPicker!.Pick(new PickContext { Request = request });
            Assert.Equal(PickResultType.Fail, result.Type);
        }

        Activity pick = Assert.Single(spans.Picks);
        Assert.Equal(ActivityStatusCode.Error, pick.Status);
        Assert.Equal("all_ejected", pick.GetTagItem("error.type"));
        Assert.Equal("none", pick.GetTagItem("lockfree.pick.outcome"));
        Assert.Contains("ejected", pick.StatusDescription, StringComparison.Ordinal);
        Assert.Contains("lockfree_p2c", pick.StatusDescription, StringComparison.Ordinal);
        Assert.Null(pick.GetTagItem("network.peer.address"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Pick_ManyTimes_OurSourceNotSampled_AllocatesNothing(bool ourSourceListened)
    {
        // A call span is current and sampled (another source is listened to), as in an application that traces but has
        // not added ours; or ours is listened to but this trace is not sampled: either way no Activity of ours exists.
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        (LockFreePicker picker, PickContext context) = await KeyedPickerAsync(cluster);
        using (var spans = new SpanRecorder(ourSourceListened ? [GrpcTracing.SourceName] : ["Grpc.Net.Client"]) { SampleOurs = false })
        using (Activity parent = TestSource.StartActivity("test")!)
        {
            spans.Trace = parent.TraceId;
            Assert.Equal(ourSourceListened, GrpcTracing.Source.HasListeners()); // no other class listens to our source
            for (int i = 0; i < 1000; i++)
            {
                Assert.Equal(PickResultType.Complete, picker.Pick(context).Type); // warm up
            }

            Assert.Equal(0, PickAllocation.LeastOfThreeRounds(100_000, () => picker.Pick(context)));
            Assert.Same(parent, Activity.Current);
            Assert.Empty(spans.Picks);
        }
    }

    [Fact]
    public async Task Pick_OurSourceSampled_AllocatesTheSpanOnly()
    {
        // What tracing the picks costs: the Activity (with its ids), the list nodes of its five attributes, the boxed port,
        // and the async-local writes that make it current and then restore the call span. Measured 664 B per sampled
        // pick on .NET 10 (x64, this bounded-load Maglev pick); the bound catches a leak per pick, not a few bytes.
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        (LockFreePicker picker, PickContext context) = await KeyedPickerAsync(cluster);
        using (var spans = new SpanRecorder(GrpcTracing.SourceName) { Keep = false })
        using (Activity parent = TestSource.StartActivity("test")!)
        {
            spans.Trace = parent.TraceId;
            for (int i = 0; i < 1000; i++)
            {
                Assert.Equal(PickResultType.Complete, picker.Pick(context).Type); // warm up
            }

            const int Picks = 10_000;
            long bytes = PickAllocation.LeastOfThreeRounds(Picks, () => picker.Pick(context));
            output.WriteLine($"{bytes / Picks} B per sampled pick");
            Assert.Equal(3 * Picks + 1000, spans.Count);
            Assert.InRange(bytes / Picks, 200, 1200);
        }
    }

    // Bounded loads: the pick that places and reserves, the picker's most expensive path.
    private static async Task<(LockFreePicker Picker, PickContext Context)> KeyedPickerAsync(GrpcCluster cluster)
    {
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config("""{"lockfree_maglev": {"hash_header": "x-user", "load_factor": 1.25}}"""), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 3 }, "all three subchannels are ready");
        var request = new HttpRequestMessage(HttpMethod.Post, "http://web.shop/lockfree.test.Echo/Who");
        request.Headers.TryAddWithoutValidation("x-user", "user-42");
        return (policy.LastPicker!, new PickContext { Request = request });
    }

    /// <summary>
    /// Listens to the given sources and the test's own, samples only the test's trace (so the parallel classes' picks
    /// stay unsampled), and keeps the stopped spans of that trace.
    /// </summary>
    private sealed class SpanRecorder : IDisposable
    {
        private readonly ActivityListener _listener;
        private int _count;

        public SpanRecorder(params string[] sources)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == TestSourceName || sources.Contains(source.Name),
                Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                    options.Source.Name == TestSourceName ? ActivitySamplingResult.AllDataAndRecorded
                    : options.Parent.TraceId != Trace || (!SampleOurs && options.Source.Name == GrpcTracing.SourceName) ? ActivitySamplingResult.None
                    : ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (activity.TraceId == Trace && activity.Source.Name != TestSourceName)
                    {
                        Interlocked.Increment(ref _count);
                        if (Keep)
                        {
                            Stopped.Enqueue(activity);
                        }
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public ActivityTraceId Trace { get; set; }

        public bool SampleOurs { get; init; } = true;

        public bool Keep { get; init; } = true;

        public int Count => Volatile.Read(ref _count);

        public ConcurrentQueue<Activity> Stopped { get; } = new();

        public Activity[] Picks => [.. Stopped.Where(a => a.OperationName == "lockfree.pick")];

        public void Dispose() => _listener.Dispose();
    }
}
