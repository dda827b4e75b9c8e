using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.Net.Client.Configuration;
using LockFree.Balancing.Grpc.RingHash;
using LockFree.Balancing.Grpc.Tests.Protos;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests.RingHash;

/// <summary>
/// <c>ring_hash</c> picks report like the LockFree policies': counted on the container's <c>LockFree.Balancing.Grpc</c>
/// meter, the pod on grpc-dotnet's call span, and a <c>lockfree.pick</c> span on our source when it is listened to;
/// real gRPC pods on loopback behind the <c>kubernetes</c> resolver.
/// </summary>
[Collection(nameof(AllocationMeasurement))]
public sealed class RingHashTelemetryTests
{
    private const string TestSourceName = "LockFree.Balancing.Grpc.Tests.RingHashSpans";
    private static readonly ActivitySource TestSource = new(TestSourceName);

    private static ServiceConfig KeyedRingHash()
        => new() { LoadBalancingConfigs = { new RingHashOptions { RequestHashHeader = "x-user" }.ToLoadBalancingConfig() } };

    [Fact]
    public async Task Picks_CountedOnTheContainersMeter_AsRingHashHome_NeverAPodOrAKey()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        ServiceProvider services = cluster.Services(s => s.AddMetrics());
        using var picks = new MetricCollector<long>(services.GetRequiredService<IMeterFactory>(), GrpcMetrics.MeterName, GrpcMetrics.PicksName);
        var client = new Echo.EchoClient(cluster.Channel(KeyedRingHash(), services: services));
        var headers = new global::Grpc.Core.Metadata { { "x-user", "user-7" } };

        // ring_hash connects lazily (A42): the first calls may queue while the key's subchannel connects.
        await client.WhoAsync(new WhoRequest(), headers, cancellationToken: GrpcCluster.Limit());
        picks.Clear();
        for (int i = 0; i < 5; i++)
        {
            await client.WhoAsync(new WhoRequest(), headers, cancellationToken: GrpcCluster.Limit());
        }

        var measured = picks.GetMeasurementSnapshot();
        Assert.Equal(5, measured.Count); // the key's subchannel is ready: one pick per call
        Assert.All(measured, m =>
        {
            Assert.Equal(1, m.Value);
            Assert.Equal("ring_hash", m.Tags["lockfree.picker"]);
            Assert.Equal("home", m.Tags["lockfree.pick.outcome"]);
            Assert.Equal(["lockfree.pick.outcome", "lockfree.picker"], m.Tags.Keys.Order());
        });
    }

    [Fact]
    public async Task CallSpanAndPickSpan_NameThePodTheKeyReached()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(KeyedRingHash(), services: services));
        var headers = new global::Grpc.Core.Metadata { { "x-user", "user-3" } };
        string pod = (await client.WhoAsync(new WhoRequest(), headers, cancellationToken: GrpcCluster.Limit())).Pod;
        int podPort = cluster.Pods.Single(p => p.Name == pod).Port;
        var stopped = new ConcurrentQueue<Activity>();
        ActivityTraceId trace = default;
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Grpc.Net.Client" or TestSourceName or GrpcTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> options) => options.Parent.TraceId == trace || options.Source.Name == TestSourceName
                ? ActivitySamplingResult.AllDataAndRecorded
                : ActivitySamplingResult.None,
            ActivityStopped = activity =>
            {
                if (activity.TraceId == trace)
                {
                    stopped.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        using (Activity parent = TestSource.StartActivity("test")!)
        {
            trace = parent.TraceId;
            for (int i = 0; i < 3; i++)
            {
                await client.WhoAsync(new WhoRequest(), headers, cancellationToken: GrpcCluster.Limit());
            }
        }

        Activity[] calls = [.. stopped.Where(a => a.OperationName == GrpcMetrics.GrpcCallActivityName)];
        Activity[] pickSpans = [.. stopped.Where(a => a.OperationName == "lockfree.pick")];
        Assert.Equal(3, calls.Length);
        Assert.Equal(3, pickSpans.Length);
        Assert.All(calls, call =>
        {
            Assert.Equal("127.0.0.1", call.GetTagItem("network.peer.address"));
            Assert.Equal(podPort, call.GetTagItem("network.peer.port"));
            Assert.Equal("home", call.GetTagItem("lockfree.pick.outcome"));
        });
        Assert.All(pickSpans, pick =>
        {
            Assert.Contains(calls, call => call.SpanId == pick.ParentSpanId); // a child of grpc-dotnet's call span
            Assert.Equal(ActivityKind.Internal, pick.Kind);
            Assert.Equal("ring_hash", pick.GetTagItem("lockfree.picker"));
            Assert.Equal("web.shop", pick.GetTagItem("server.address"));
            Assert.Equal("127.0.0.1", pick.GetTagItem("network.peer.address"));
            Assert.Equal(podPort, pick.GetTagItem("network.peer.port"));
            Assert.Equal("home", pick.GetTagItem("lockfree.pick.outcome"));
            Assert.Null(pick.GetTagItem("x-user"));
            Assert.DoesNotContain(pick.TagObjects, tag => Equals(tag.Value, "user-3")); // never the key
        });
    }
}
