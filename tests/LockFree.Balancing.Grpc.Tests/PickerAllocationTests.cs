using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Grpc.Tests.Protos;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests;

public sealed class PickerAllocationTests
{
    [Theory]
    [InlineData("""{"lockfree_p2c": {}}""", false)]
    [InlineData("""{"lockfree_round_robin": {}}""", false)]
    [InlineData("""{"lockfree_consistent_hash": {"hash_header": "x-user", "load_factor": 1.25}}""", true)]
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user", "load_factor": 1.25}}""", true)]
    [InlineData("""{"lockfree_maglev": {"hash_header": "x-user"}}""", false)]
    public async Task Pick_ManyTimes_AllocatesNothing(string config, bool keyed)
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config(config), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 3 }, "all three subchannels are ready");
        LockFreePicker picker = policy.LastPicker!;
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://web.shop/lockfree.test.Echo/Who");
        if (keyed)
        {
            request.Headers.TryAddWithoutValidation("x-user", "user-42");
        }

        var context = new PickContext { Request = request };
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(PickResultType.Complete, picker.Pick(context).Type); // warm up (tiered JIT, statics)
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100_000; i++)
        {
            picker.Pick(context);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task Pick_DroppedWithoutStart_ReservationReturnsAtTheNextRebuild()
    {
        // grpc-dotnet drops a pick whose subchannel stopped being ready without calling Start. The pick's reservation
        // (kept so that concurrent picks see it under the bounded-load cap) must not leak.
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(3);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config("""{"lockfree_maglev": {"hash_header": "x-user", "load_factor": 1.25}}"""), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 3 }, "all three subchannels are ready");
        await TestWait.UntilAsync(() => PolicyTests.CoreInFlight(policy) == 0, "the first call is released");
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://web.shop/lockfree.test.Echo/Who");
        request.Headers.TryAddWithoutValidation("x-user", "user-42");
        var context = new PickContext { Request = request };

        for (int i = 0; i < 10; i++)
        {
            policy.LastPicker!.Pick(context); // picked, never started
        }

        Assert.Equal(10, PolicyTests.CoreInFlight(policy));
        await cluster.SetReadyAsync(cluster.Pods[2], ready: false); // a subchannel state change: grpc-dotnet rebuilds the picker

        await TestWait.UntilAsync(() => PolicyTests.CoreInFlight(policy) == 0, "the dropped picks' reservations are back");
        await client.WhoAsync(new WhoRequest(), new global::Grpc.Core.Metadata { { "x-user", "user-42" } }, cancellationToken: GrpcCluster.Limit());
        await TestWait.UntilAsync(() => PolicyTests.CoreInFlight(policy) == 0, "the call is released");
    }
}
