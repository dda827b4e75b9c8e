using Grpc.Core;
using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Grpc.Tests.Protos;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests;

/// <summary>
/// grpc-dotnet keeps a subchannel whose address comes back from the resolver, with the attributes it was created with,
/// and rebuilds nothing when no address came or went: a weight (or zone, or hints) change must still reach the policy.
/// </summary>
public sealed class EndpointAttributeUpdateTests
{
    [Fact]
    public async Task WeightChange_OnAnAddressThatStays_ReachesThePolicyWithoutNewSubchannels()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        var resolver = new PushResolverFactory();
        ServiceProvider services = cluster.Services(more: s => s.AddSingleton<ResolverFactory>(resolver));
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config("""{"lockfree_round_robin": {}}"""), target: "push:///web", services: services));
        resolver.Push(cluster.Pods.Select(p => (p, 1)));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 2 }, "both subchannels are ready");
        LockFreePicker before = policy.LastPicker!;

        resolver.Push(cluster.Pods.Select(p => (p, p == cluster.Pods[0] ? 3 : 1)));
        await TestWait.UntilAsync(() => !ReferenceEquals(policy.LastPicker, before), "a rebuild for the new weight");
        Assert.Equal(3, policy.Core.Endpoints.Single(e => e.Port == cluster.Pods[0].Port).Weight);

        int[] before0 = [cluster.Pods[0].Calls, cluster.Pods[1].Calls];
        for (int i = 0; i < 400; i++)
        {
            await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        }

        int first = cluster.Pods[0].Calls - before0[0];
        int second = cluster.Pods[1].Calls - before0[1];
        Assert.InRange(first, 290, 310); // weighted round robin: 3 of every 4 calls
        Assert.Equal(400, first + second);
    }

    [Fact]
    public async Task SameAttributes_Again_RebuildNothing()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        var resolver = new PushResolverFactory();
        ServiceProvider services = cluster.Services(more: s => s.AddSingleton<ResolverFactory>(resolver));
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config("""{"lockfree_round_robin": {}}"""), target: "push:///web", services: services));
        resolver.Push(cluster.Pods.Select(p => (p, 1)));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 2 }, "both subchannels are ready");
        LockFreePicker before = policy.LastPicker!;

        resolver.Push(cluster.Pods.Select(p => (p, 1)));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit()); // after the push is processed
        Assert.Same(before, policy.LastPicker);
    }

    /// <summary>A resolver whose results the test pushes, with the endpoint attribute the kubernetes resolver sets.</summary>
    /// <remarks>The channel owns and disposes the resolver it creates.</remarks>
#pragma warning disable CA1001
    private sealed class PushResolverFactory : ResolverFactory
#pragma warning restore CA1001
    {
        private PushResolver? _resolver;
        private IReadOnlyList<BalancerAddress>? _pending;

        public override string Name => "push";

        public override Resolver Create(ResolverOptions options)
        {
            _resolver = new PushResolver();
            if (_pending is { } pending)
            {
                _resolver.Publish(pending);
            }

            return _resolver;
        }

        public void Push(IEnumerable<(Pod Pod, int Weight)> pods)
        {
            List<BalancerAddress> addresses = [];
            foreach ((Pod pod, int weight) in pods)
            {
                var address = new BalancerAddress("127.0.0.1", pod.Port);
                address.Attributes.Set(KubernetesBalancerAttributes.Endpoint, new Endpoint("127.0.0.1", pod.Port, weight));
                addresses.Add(address);
            }

            _pending = addresses;
            _resolver?.Publish(addresses);
        }
    }

    private sealed class PushResolver : Resolver
    {
        private Action<ResolverResult>? _listener;
        private IReadOnlyList<BalancerAddress>? _last;

        public override void Start(Action<ResolverResult> listener)
        {
            _listener = listener;
            if (_last is { } last)
            {
                listener(ResolverResult.ForResult(last));
            }
        }

        public override void Refresh()
        {
        }

        public void Publish(IReadOnlyList<BalancerAddress> addresses)
        {
            _last = addresses;
            _listener?.Invoke(ResolverResult.ForResult(addresses));
        }
    }
}
