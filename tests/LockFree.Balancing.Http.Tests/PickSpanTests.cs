using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace LockFree.Balancing.Http.Tests;

/// <summary>
/// The opt-in <c>lockfree.pick</c> span on the <c>LockFree.Balancing.Http</c> source: one per try's pick, a sibling of
/// the runtime's client span (it ends before the send), carrying the Service, the pod, the outcome and the picker;
/// an Error span when nothing can be picked; nothing at all when nobody listens to the source.
/// </summary>
public sealed class PickSpanTests
{
    private const string TestSourceName = "LockFree.Balancing.Http.Tests.PickSpans";
    private static readonly ActivitySource TestSource = new(TestSourceName);

    [Theory]
    [InlineData(BalancingTransport.PodConnections)]
    [InlineData(BalancingTransport.InnerHandler)]
    public async Task PickSpan_EachTry_CarriesServicePodOutcomeAndPicker(BalancingTransport transport)
    {
        int dead = Cluster.RefusingPort();
        await using Cluster cluster = await Cluster.StartAsync(1, null, dead);
        using var spans = new SpanRecorder(PickTracing.SourceName, "System.Net.Http");
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions
        {
            PortName = "http",
            Picker = BalancingPicker.RoundRobin,
            Transport = transport,
        });
        using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri, Timeout = Cluster.WaitLimit };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());

        ActivitySpanId parentSpan;
        using (Activity parent = TestSource.StartActivity("test")!)
        {
            spans.Trace = parent.TraceId;
            parentSpan = parent.SpanId;
            for (int i = 0; i < 2; i++)
            {
                Assert.Equal("b0", await client.GetStringAsync("who", Cluster.Limit()));
            }
        }

        Activity[] picks = spans.Picks;
        Activity[] tries = [.. spans.Stopped.Where(a => a.OperationName == "System.Net.Http.HttpRequestOut")];
        Assert.Equal(tries.Length, picks.Length); // one pick per try: round robin, each refused try retried once
        Activity[] retries = [.. picks.Where(p => p.GetTagItem("lockfree.pick.retry") is true)];
        Assert.Equal(picks.Count(p => Equals(p.GetTagItem("network.peer.port"), dead)), retries.Length);
        Assert.InRange(retries.Length, 1, 2);
        Assert.All(retries, r => Assert.Equal(cluster.Backends[0].Port, r.GetTagItem("network.peer.port")));
        Assert.All(picks, p =>
        {
            Assert.Equal("lockfree.pick", p.OperationName);
            Assert.Equal(ActivityKind.Internal, p.Kind);
            Assert.Equal(parentSpan, p.ParentSpanId); // a child of the caller's span
            Assert.Equal(ActivityStatusCode.Unset, p.Status);
            Assert.Equal("web.shop", p.GetTagItem("server.address"));
            Assert.Equal("127.0.0.1", p.GetTagItem("network.peer.address"));
            Assert.Contains(p.GetTagItem("network.peer.port"), new object[] { dead, cluster.Backends[0].Port });
            Assert.Equal("home", p.GetTagItem("lockfree.pick.outcome"));
            Assert.Equal("round_robin", p.GetTagItem("lockfree.picker"));
            Assert.Equal(PickTracing.SourceName, p.Source.Name);
            Assert.Equal(typeof(PickTracing).Assembly.GetName().Version?.ToString(), p.Source.Version);
        });

        // The pick span ends before the send: the runtime's client span is its sibling, still tagged with the pod.
        Assert.All(tries, t =>
        {
            Assert.Equal(parentSpan, t.ParentSpanId);
            Assert.Equal("127.0.0.1", t.GetTagItem("network.peer.address"));
        });
    }

    [Fact]
    public async Task PickSpan_InnerHandlerThatIsNotOurs_ShowsThePodTheTryWentTo()
    {
        // A custom primary handler: the runtime's client span is started inside it, with a propagator that is not ours,
        // so nothing of ours reaches that span. The pick span is the one place the pod shows.
        int dead = Cluster.RefusingPort();
        await using Cluster cluster = await Cluster.StartAsync(2, null, dead);
        using var spans = new SpanRecorder(PickTracing.SourceName);
        var counter = new AttemptCounter();
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions
        {
            PortName = "http",
            Picker = BalancingPicker.RoundRobin,
            Transport = BalancingTransport.InnerHandler,
        });
        using var client = new HttpClient(balancing.CreateHandler(new CountingHandler(counter, new HttpClientHandler())))
        {
            BaseAddress = Cluster.ServiceUri,
            Timeout = Cluster.WaitLimit,
        };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());

        using (Activity parent = TestSource.StartActivity("test")!)
        {
            spans.Trace = parent.TraceId;
            for (int i = 0; i < 4; i++)
            {
                _ = await client.GetStringAsync("who", Cluster.Limit());
            }
        }

        string[] went = [.. counter.Targets];
        string[] picked = [.. spans.Picks.Select(p => $"{p.GetTagItem("network.peer.address")}:{p.GetTagItem("network.peer.port")}")];
        Assert.Equal(went, picked); // each try's span names the pod the try was sent to, in order
        Assert.Contains($"127.0.0.1:{dead}", picked);
        Assert.Equal(4 + picked.Count(p => p == $"127.0.0.1:{dead}"), picked.Length);
    }

    [Fact]
    public async Task PickSpan_NoEndpoints_IsAnErrorWithTheReason()
    {
        Cluster cluster = await Cluster.StartAsync(0);
        await using (cluster)
        {
            using var spans = new SpanRecorder(PickTracing.SourceName);
            using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions { PortName = "http" });
            using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri, Timeout = Cluster.WaitLimit };
            Assert.Equal(0, await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit())); // synced, empty

            using (Activity parent = TestSource.StartActivity("test")!)
            {
                spans.Trace = parent.TraceId;
                await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("who", Cluster.Limit()));
            }

            Activity pick = Assert.Single(spans.Picks);
            Assert.Equal(ActivityStatusCode.Error, pick.Status);
            Assert.Equal("no_endpoints", pick.GetTagItem("error.type"));
            Assert.Contains("reason NoEndpoints", pick.StatusDescription, StringComparison.Ordinal);
            Assert.Contains("no ready endpoint", pick.StatusDescription, StringComparison.Ordinal);
            Assert.Equal("none", pick.GetTagItem("lockfree.pick.outcome"));
            Assert.Equal("web.shop", pick.GetTagItem("server.address"));
            Assert.Null(pick.GetTagItem("network.peer.address"));
        }
    }

    [Fact]
    public async Task PickSpan_EveryPodEjected_IsAnErrorNamedAllEjected()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        using var spans = new SpanRecorder(PickTracing.SourceName);
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions
        {
            PortName = "http",
            RetryServerErrors = false,
            OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1, MaxEjectedShare = 1 },
        });
        using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri, Timeout = Cluster.WaitLimit };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());

        using (Activity parent = TestSource.StartActivity("test")!)
        {
            spans.Trace = parent.TraceId;
            using (HttpResponseMessage failed = await client.GetAsync("status/503", Cluster.Limit()))
            {
                Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, failed.StatusCode);
            }

            await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("who", Cluster.Limit()));
        }

        Activity[] picks = spans.Picks;
        Assert.Equal(2, picks.Length);
        Assert.Equal(ActivityStatusCode.Unset, picks[0].Status); // the pick that reached the pod; its 503 is not the pick's error
        Assert.Equal(ActivityStatusCode.Error, picks[1].Status);
        Assert.Equal("all_ejected", picks[1].GetTagItem("error.type"));
        Assert.Contains("reason AllEjected", picks[1].StatusDescription, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PickSpan_AffinityKey_IsNeverAnAttribute()
    {
        await using Cluster cluster = await Cluster.StartAsync(2);
        using var spans = new SpanRecorder(PickTracing.SourceName);
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions
        {
            PortName = "http",
            AffinityHeader = "x-user",
            AffinityPicker = BalancingPicker.Maglev,
        });
        using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri, Timeout = Cluster.WaitLimit };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());

        using (Activity parent = TestSource.StartActivity("test")!)
        {
            spans.Trace = parent.TraceId;
            using var request = new HttpRequestMessage(HttpMethod.Get, "who");
            request.Headers.Add("x-user", "user-secret-42");
            using HttpResponseMessage response = await client.SendAsync(request, Cluster.Limit());
            response.EnsureSuccessStatusCode();
        }

        Activity pick = Assert.Single(spans.Picks);
        Assert.Equal("maglev", pick.GetTagItem("lockfree.picker"));
        Assert.Equal(
            ["lockfree.pick.outcome", "lockfree.picker", "network.peer.address", "network.peer.port", "server.address"],
            pick.TagObjects.Select(t => t.Key).Order());
        Assert.DoesNotContain(pick.TagObjects, t => t.Value is string s && s.Contains("secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PickSpan_OnlyAnotherSourceListenedTo_NoneOfOursAndTheClientSpanStillTagged()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        using var spans = new SpanRecorder("System.Net.Http");
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions { PortName = "http" });
        using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri, Timeout = Cluster.WaitLimit };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());

        ActivitySpanId parentSpan;
        using (Activity parent = TestSource.StartActivity("test")!)
        {
            spans.Trace = parent.TraceId;
            parentSpan = parent.SpanId;
            Assert.False(PickTracing.Source.HasListeners()); // the test project runs serially: no other test listens now
            Assert.Equal("b0", await client.GetStringAsync("who", Cluster.Limit()));
            Assert.Same(parent, Activity.Current); // nothing of ours was left current
        }

        Assert.Empty(spans.Picks);
        Activity span = Assert.Single(spans.Stopped, a => a.OperationName == "System.Net.Http.HttpRequestOut");
        Assert.Equal(parentSpan, span.ParentSpanId);
        Assert.Equal(cluster.Backends[0].Port, span.GetTagItem("network.peer.port")); // the runtime's span is tagged as before
    }

    [Fact]
    public async Task PickSpan_TwoContainers_EachTraceHoldsItsOwnPicksOnTheHttpSourceOnly()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        using var spans = new SpanRecorder(PickTracing.SourceName, "LockFree.Balancing.Grpc", "LockFree.Balancing.Yarp") { AnyTrace = true };
        await using ServiceProvider first = HttpClientMetricsTests.Container(cluster);
        await using ServiceProvider second = HttpClientMetricsTests.Container(cluster);
        HttpClient firstClient = await HttpClientMetricsTests.ClientAsync(first);
        HttpClient secondClient = await HttpClientMetricsTests.ClientAsync(second);

        ActivityTraceId firstTrace;
        ActivityTraceId secondTrace;
        using (Activity parent = TestSource.StartActivity("first")!)
        {
            firstTrace = parent.TraceId;
            for (int i = 0; i < 3; i++)
            {
                _ = await firstClient.GetStringAsync("who", Cluster.Limit());
            }
        }

        using (Activity parent = TestSource.StartActivity("second")!)
        {
            secondTrace = parent.TraceId;
            _ = await secondClient.GetStringAsync("who", Cluster.Limit());
        }

        Activity[] picks = spans.Picks;
        Assert.Equal(3, picks.Count(p => p.TraceId == firstTrace));
        Assert.Equal(1, picks.Count(p => p.TraceId == secondTrace));
        Assert.Equal(4, picks.Length); // no span outside the two traces, none on the gRPC or YARP sources
        Assert.All(picks, p => Assert.Equal(PickTracing.SourceName, p.Source.Name));
    }

    /// <summary>Listens to the given sources and the test's own; keeps the stopped spans of one trace (or of every trace).</summary>
    private sealed class SpanRecorder : IDisposable
    {
        private readonly ActivityListener _listener;

        public SpanRecorder(params string[] sources)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == TestSourceName || sources.Contains(source.Name),
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (AnyTrace ? activity.Source.Name != TestSourceName : activity.TraceId == Trace)
                    {
                        Stopped.Enqueue(activity);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public ActivityTraceId Trace { get; set; }

        public bool AnyTrace { get; init; }

        public ConcurrentQueue<Activity> Stopped { get; } = new();

        /// <summary>The pick spans recorded, in the order they ended.</summary>
        public Activity[] Picks => [.. Stopped.Where(a => a.OperationName == "lockfree.pick")];

        public void Dispose() => _listener.Dispose();
    }
}
