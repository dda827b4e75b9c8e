using Grpc.Core;
using LockFree.Balancing.Grpc.Tests.Protos;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests;

public sealed class StreamingTests
{
    [Fact]
    public async Task OpenStreams_WithTrackingHandler_CountUntilTheyEnd()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config("""{"lockfree_p2c": {}}"""), tracking: true, services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);

        List<AsyncServerStreamingCall<WhoReply>> streams = await OpenStreamsAsync(client, 6);

        // Past the response headers (grpc-dotnet completed the tracker there), every stream is still counted.
        Assert.Equal(6, PolicyTests.CoreInFlight(policy));
        foreach (AsyncServerStreamingCall<WhoReply> stream in streams)
        {
            stream.Dispose();
        }

        await TestWait.UntilAsync(() => PolicyTests.CoreInFlight(policy) == 0, "the ended streams are released");
    }

    [Fact]
    public async Task StreamReadToItsEnd_WithTrackingHandler_IsReleased()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(1);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config("""{"lockfree_p2c": {}}"""), services: services));

        using AsyncServerStreamingCall<WhoReply> call = client.Stream(new StreamRequest { Count = 5, IntervalMs = 1 }, cancellationToken: GrpcCluster.Limit());
        int read = 0;
        await foreach (WhoReply _ in call.ResponseStream.ReadAllAsync())
        {
            read++;
            if (read == 3)
            {
                Assert.Equal(1, PolicyTests.CoreInFlight(PolicyTests.Policy(services)));
            }
        }

        Assert.Equal(5, read);
        await TestWait.UntilAsync(() => PolicyTests.CoreInFlight(PolicyTests.Policy(services)) == 0, "the finished stream is released");
    }

    [Fact]
    public async Task OpenStreams_WithoutTrackingHandler_AreCountedOnlyUntilHeaders()
    {
        // The documented limit, measured: grpc-dotnet completes ISubchannelCallTracker at the response headers, so
        // without GrpcCallTrackingHandler an open stream no longer counts once its first message has arrived.
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config("""{"lockfree_p2c": {}}"""), tracking: false, services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());

        List<AsyncServerStreamingCall<WhoReply>> streams = await OpenStreamsAsync(client, 6);

        Assert.Equal(0, PolicyTests.CoreInFlight(PolicyTests.Policy(services)));
        Assert.Equal(6, cluster.Pods.Sum(p => p.InFlight));
        foreach (AsyncServerStreamingCall<WhoReply> stream in streams)
        {
            stream.Dispose();
        }
    }

    private static async Task<List<AsyncServerStreamingCall<WhoReply>>> OpenStreamsAsync(Echo.EchoClient client, int count)
    {
        var streams = new List<AsyncServerStreamingCall<WhoReply>>();
        for (int i = 0; i < count; i++)
        {
            AsyncServerStreamingCall<WhoReply> call = client.Stream(new StreamRequest { Count = 10_000, IntervalMs = 50 }, cancellationToken: GrpcCluster.Limit());
            Assert.True(await call.ResponseStream.MoveNext(GrpcCluster.Limit()));
            streams.Add(call);
        }

        return streams;
    }
}
