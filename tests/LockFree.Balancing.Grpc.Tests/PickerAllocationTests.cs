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
        Assert.Equal(0, PolicyTests.CoreInFlight(policy)); // picks reserve nothing: only Start counts
    }
}
