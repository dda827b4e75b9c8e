using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit;

namespace LockFree.Balancing.Http.Tests;

/// <summary>
/// The runtime's HTTP client span (<c>System.Net.Http.HttpRequestOut</c>, started inside <see cref="SocketsHttpHandler"/>,
/// below our handler) carries the pick: the pod as <c>network.peer.address</c>/<c>network.peer.port</c> and the outcome.
/// </summary>
public sealed class ClientSpanTests
{
    private const string TestSourceName = "LockFree.Balancing.Http.Tests.ClientSpans";
    private static readonly ActivitySource TestSource = new(TestSourceName);

    [Theory]
    [InlineData(BalancingTransport.PodConnections)]
    [InlineData(BalancingTransport.InnerHandler)]
    public async Task ClientSpan_EachTry_CarriesItsPodAndOutcome(BalancingTransport transport)
    {
        int dead = Cluster.RefusingPort();
        await using Cluster cluster = await Cluster.StartAsync(1, null, dead);
        using var spans = new SpanRecorder();
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions
        {
            PortName = "http",
            Picker = BalancingPicker.RoundRobin,
            Transport = transport,
        });
        using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri, Timeout = Cluster.WaitLimit };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());

        using (Activity parent = TestSource.StartActivity("test")!)
        {
            spans.Trace = parent.TraceId;
            for (int i = 0; i < 2; i++)
            {
                Assert.Equal("b0", await client.GetStringAsync("who", Cluster.Limit()));
            }
        }

        Activity[] tries = [.. spans.Stopped.Where(a => a.OperationName == "System.Net.Http.HttpRequestOut")];
        int refused = tries.Count(a => Equals(a.GetTagItem("network.peer.port"), dead));
        Assert.InRange(refused, 1, 2); // round robin over two endpoints, each refused try retried once
        Assert.Equal(2 + refused, tries.Length);
        Assert.All(tries, a =>
        {
            Assert.Equal("127.0.0.1", a.GetTagItem("network.peer.address"));
            Assert.Contains(a.GetTagItem("network.peer.port"), new object[] { dead, cluster.Backends[0].Port });
            Assert.Equal("home", a.GetTagItem("lockfree.pick.outcome"));
        });
        Assert.Equal(2, tries.Count(a => Equals(a.GetTagItem("network.peer.port"), cluster.Backends[0].Port)));
    }

    [Fact]
    public async Task Request_FirstSendOnAColdPodHandler_LeavesNoOptionBehind()
    {
        // A pod handler's first sends carry the pick on the request's options (see PickTagging): removed afterwards,
        // so the caller's request is as it was built (for logging above, and for an outer retry).
        await using Cluster cluster = await Cluster.StartAsync(1);
        using var spans = new SpanRecorder();
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions { PortName = "http" });
        using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri, Timeout = Cluster.WaitLimit };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());
        using var request = new HttpRequestMessage(HttpMethod.Get, "who");

        using (Activity parent = TestSource.StartActivity("test")!)
        {
            spans.Trace = parent.TraceId;
            using HttpResponseMessage response = await client.SendAsync(request, Cluster.Limit());
            Assert.Equal("b0", await response.Content.ReadAsStringAsync(Cluster.Limit()));
        }

        Assert.Empty(request.Options);
        Activity span = Assert.Single(spans.Stopped, a => a.OperationName == "System.Net.Http.HttpRequestOut");
        Assert.Equal(cluster.Backends[0].Port, span.GetTagItem("network.peer.port")); // tagged although the handler was cold
    }

    [Fact]
    public async Task ClientSpan_NotSampled_GetsNoTags()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        using var spans = new SpanRecorder { Sample = ActivitySamplingResult.PropagationData };
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions { PortName = "http" });
        using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri, Timeout = Cluster.WaitLimit };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());

        using (Activity parent = TestSource.StartActivity("test")!)
        {
            spans.Trace = parent.TraceId;
            Assert.Equal("b0", await client.GetStringAsync("who", Cluster.Limit()));
        }

        Activity span = Assert.Single(spans.Stopped, a => a.OperationName == "System.Net.Http.HttpRequestOut");
        Assert.False(span.IsAllDataRequested);
        Assert.Null(span.GetTagItem("network.peer.address"));
        Assert.Null(span.GetTagItem("lockfree.pick.outcome"));
    }

    /// <summary>Listens to the runtime's HTTP source and the test's own; keeps the stopped spans of one trace.</summary>
    private sealed class SpanRecorder : IDisposable
    {
        private readonly ActivityListener _listener;

        public SpanRecorder()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name is "System.Net.Http" or TestSourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                    options.Source.Name == TestSourceName ? ActivitySamplingResult.AllDataAndRecorded : Sample,
                ActivityStopped = activity =>
                {
                    if (activity.TraceId == Trace)
                    {
                        Stopped.Enqueue(activity);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public ActivityTraceId Trace { get; set; }

        public ActivitySamplingResult Sample { get; init; } = ActivitySamplingResult.AllDataAndRecorded;

        public ConcurrentQueue<Activity> Stopped { get; } = new();

        public void Dispose() => _listener.Dispose();
    }
}
