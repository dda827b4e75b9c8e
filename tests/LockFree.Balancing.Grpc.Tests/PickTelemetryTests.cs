using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Grpc.Tests.Protos;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests;

/// <summary>
/// The policies' picks on the <c>LockFree.Balancing.Grpc</c> meter (the container's, from its <see cref="IMeterFactory"/>)
/// and on grpc-dotnet's call span, against real gRPC pods on loopback.
/// </summary>
[Collection(nameof(AllocationMeasurement))]
public sealed class PickTelemetryTests
{
    private const string TestSourceName = "LockFree.Balancing.Grpc.Tests.CallSpans";
    private static readonly ActivitySource TestSource = new(TestSourceName);

    // Every policy reports the outcome: those that count at the pick (P2C, bounded loads) from the lease, a keyless call
    // on a hashing policy as home, the others (an index pick, nothing counted) from the core's pick.
    [Theory]
    [InlineData("""{"lockfree_round_robin": {}}""", "lockfree_round_robin", null, "home")]
    [InlineData("""{"lockfree_p2c": {}}""", "lockfree_p2c", null, "home")]
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user"}}""", "lockfree_maglev", "user-7", "home")]
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user", "load_factor": 1.25}}""", "lockfree_maglev", "user-7", "home")]
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user"}}""", "lockfree_maglev", null, "home")]
    public async Task Picks_CountedOnTheContainersMeter_ByPolicyAndOutcome(string config, string policy, string? user, string? outcome)
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        ServiceProvider services = cluster.Services(s => s.AddMetrics());
        using var picks = new MetricCollector<long>(services.GetRequiredService<IMeterFactory>(), GrpcMetrics.MeterName, GrpcMetrics.PicksName);
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config(config), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer balancer = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => balancer.LastPicker is { Count: 3 }, "all three subchannels are ready");
        picks.Clear();

        var headers = user is null ? null : new global::Grpc.Core.Metadata { { "x-user", user } };
        for (int i = 0; i < 5; i++)
        {
            await client.WhoAsync(new WhoRequest(), headers, cancellationToken: GrpcCluster.Limit());
        }

        var measured = picks.GetMeasurementSnapshot();
        Assert.Equal(5, measured.Count); // every subchannel ready: one pick per call
        Assert.Equal("{pick}", picks.Instrument!.Unit);
        Assert.All(measured, m =>
        {
            Assert.Equal(1, m.Value);
            Assert.Equal(policy, m.Tags["lockfree.picker"]);
            Assert.Equal(outcome, m.Tags.GetValueOrDefault("lockfree.pick.outcome"));
            Assert.Equal(outcome is null ? ["lockfree.picker"] : ["lockfree.pick.outcome", "lockfree.picker"], m.Tags.Keys.Order()); // never a pod or a key
        });
    }

    [Fact]
    public async Task Picks_WithoutAMeterFactory_GoToTheProcessWideMeter()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(1);
        ServiceProvider services = cluster.Services(); // no AddMetrics: no IMeterFactory
        Assert.Null(services.GetService<IMeterFactory>());
        using var picks = new MetricCollector<long>(GrpcMetrics.Shared.Meter, GrpcMetrics.PicksName);
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config("""{"lockfree_p2c": {}}"""), services: services));

        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());

        Assert.Contains(picks.GetMeasurementSnapshot(), m => (string?)m.Tags["lockfree.picker"] == "lockfree_p2c");
        Assert.All(services.GetServices<LoadBalancerFactory>().OfType<LockFreeLoadBalancerFactory>(), f => Assert.Same(GrpcMetrics.Shared, f.Metrics));
    }

    [Fact]
    public async Task Picks_TwoContainers_DoNotSeeEachOthersCounts()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(1);
        ServiceProvider first = cluster.Services(s => s.AddMetrics());
        ServiceProvider second = cluster.Services(s => s.AddMetrics());
        using var firstPicks = new MetricCollector<long>(first.GetRequiredService<IMeterFactory>(), GrpcMetrics.MeterName, GrpcMetrics.PicksName);
        using var secondPicks = new MetricCollector<long>(second.GetRequiredService<IMeterFactory>(), GrpcMetrics.MeterName, GrpcMetrics.PicksName);
        var config = GrpcCluster.Config("""{"lockfree_round_robin": {}}""");
        var firstClient = new Echo.EchoClient(cluster.Channel(config, services: first));
        var secondClient = new Echo.EchoClient(cluster.Channel(config, services: second));

        for (int i = 0; i < 3; i++)
        {
            await firstClient.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        }

        await secondClient.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());

        Assert.InRange(firstPicks.GetMeasurementSnapshot().Count, 3, 4); // the first call may be picked twice (queued, then ready)
        Assert.InRange(secondPicks.GetMeasurementSnapshot().Count, 1, 2);
    }

    [Theory]
    [InlineData("""{"lockfree_p2c": {}}""", false, "home")]
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user", "load_factor": 1.25}}""", true, "home")]
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user", "load_factor": 1.25}}""", false, "home")] // keyless: the lesser loaded of two
    [InlineData("""{"lockfree_round_robin": {}}""", false, "home")] // an uncounted index pick
    [InlineData("""{"lockfree_consistent_hash": {"hash_header": "x-user"}}""", true, "home")]
    public async Task CallSpan_CarriesThePickedPodAndTheOutcome(string config, bool keyed, string? outcome)
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config(config), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        await TestWait.UntilAsync(() => PolicyTests.Policy(services).LastPicker is { Count: 2 }, "both subchannels are ready");
        var stopped = new ConcurrentQueue<Activity>();
        ActivityTraceId trace = default;
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Grpc.Net.Client" or TestSourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
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
            for (int i = 0; i < 4; i++)
            {
                await client.WhoAsync(new WhoRequest(), keyed ? new global::Grpc.Core.Metadata { { "x-user", "user-" + i } } : null, cancellationToken: GrpcCluster.Limit());
            }
        }

        Activity[] calls = [.. stopped.Where(a => a.OperationName == "Grpc.Net.Client.GrpcOut")];
        Assert.Equal(4, calls.Length);
        int[] ports = [.. cluster.Pods.Select(p => p.Port)];
        Assert.All(calls, call =>
        {
            Assert.Equal("127.0.0.1", call.GetTagItem("network.peer.address"));
            Assert.Contains((int)call.GetTagItem("network.peer.port")!, ports);
            Assert.Equal(outcome, call.GetTagItem("lockfree.pick.outcome"));
        });
    }

    [Theory]
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user", "load_factor": 1.25}}""")] // counted at the pick
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user"}}""")] // an uncounted index pick
    [InlineData("""{"lockfree_round_robin": {}}""")]
    [InlineData("""{"lockfree_p2c": {}}""")]
    public async Task Pick_ManyTimes_WithEveryInstrumentListenedTo_AllocatesNothing(string config)
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        ServiceProvider services = cluster.Services(s => s.AddMetrics());
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config(config), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 3 }, "all three subchannels are ready");
        LockFreePicker picker = policy.LastPicker!;
        long measurements = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == GrpcMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, services.GetRequiredService<IMeterFactory>()))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref measurements));
        listener.Start();
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://web.shop/lockfree.test.Echo/Who");
        request.Headers.TryAddWithoutValidation("x-user", "user-42");
        var context = new PickContext { Request = request };
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(PickResultType.Complete, picker.Pick(context).Type); // warm up
        }

        Assert.Equal(0, PickAllocation.LeastOfThreeRounds(100_000, () => picker.Pick(context)));
        Assert.Equal(301_000, Interlocked.Read(ref measurements));
    }
}
