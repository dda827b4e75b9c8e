using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Grpc.Net.ClientFactory;
using LockFree.Balancing.Grpc.Tests.Protos;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests;

public sealed class DependencyInjectionTests
{
    [Fact]
    public void AddKubernetesGrpcBalancing_RegistersResolverPoliciesAndRegistry_Once()
    {
        var services = new ServiceCollection();
        services.AddKubernetesGrpcBalancing();
        services.AddKubernetesGrpcBalancing(o => o.LocalZone = "zone-a");
        using ServiceProvider provider = services.BuildServiceProvider();

        Assert.Equal("kubernetes", Assert.Single(provider.GetServices<ResolverFactory>()).Name);
        string[] policies = [.. provider.GetServices<LoadBalancerFactory>().Select(f => f.Name)];
        Assert.Subset(policies.ToHashSet(), new HashSet<string> { LockFreePolicyNames.PowerOfTwoChoices, LockFreePolicyNames.RoundRobin, LockFreePolicyNames.ConsistentHash, LockFreePolicyNames.Maglev, "ring_hash" });
        Assert.Equal(policies.Length, policies.Distinct().Count()); // each once, although AddKubernetesGrpcBalancing ran twice
        Assert.Same(provider.GetRequiredService<KubernetesWatchRegistry>(), provider.GetRequiredService<KubernetesWatchRegistry>());
        Assert.Equal("zone-a", provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<KubernetesGrpcBalancingOptions>>().Value.LocalZone);
    }

    [Fact]
    public async Task AddGrpcClient_KubernetesAddress_CallsThePods()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        ServiceProvider provider = cluster.Services(services => services
            .AddGrpcClient<Echo.EchoClient>(o => o.Address = new Uri(GrpcCluster.Target))
            .ConfigureChannel(o =>
            {
                o.Credentials = ChannelCredentials.Insecure;
                o.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new LockFreeLoadBalancingConfig(LockFreePolicyNames.RoundRobin) } };
            })
            .AddHttpMessageHandler(() => new GrpcCallTrackingHandler()));
        var client = provider.GetRequiredService<Echo.EchoClient>();

        var seen = new HashSet<string>();
        for (int i = 0; i < 40 && seen.Count < 2; i++)
        {
            seen.Add((await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit())).Pod);
        }

        Assert.Equal(["p0", "p1"], seen.Order());
        Assert.Equal(1, cluster.Registry.WatchCount);
    }

    [Fact]
    public async Task AddGrpcClient_NoServiceConfig_ResolverProposesP2C()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        ServiceProvider provider = cluster.Services(services => services
            .AddGrpcClient<Echo.EchoClient>(o => o.Address = new Uri(GrpcCluster.Target))
            .ConfigureChannel(o => o.Credentials = ChannelCredentials.Insecure));
        var client = provider.GetRequiredService<Echo.EchoClient>();

        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());

        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(provider);
        Assert.IsType<PowerOfTwoChoicesBalancer>(policy.Core);
    }

    [Fact]
    public async Task OutlierEjection_PodFailingUnavailable_IsEjected()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config(
            """{"lockfree_round_robin": {"outlier_ejection": {"consecutive_failures": 3, "base_ejection_seconds": 60, "status_codes": ["UNAVAILABLE"]}}}"""), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 2 }, "both subchannels are ready");
        Pod broken = cluster.Pods[0];
        broken.FailWith = StatusCode.Unavailable;

        int failures = 0;
        for (int i = 0; i < 20; i++)
        {
            try
            {
                await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                failures++;
            }
        }

        Assert.Equal(3, failures);
        Assert.Contains(policy.Core.GetStatus(), s => s.IsEjected && s.Endpoint.Port == broken.Port);
    }

    [Fact]
    public async Task OutlierEjection_StatusNotCounted_IsNotEjected()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        ServiceProvider services = cluster.Services();
        var client = new Echo.EchoClient(cluster.Channel(GrpcCluster.Config(
            """{"lockfree_round_robin": {"outlier_ejection": {"consecutive_failures": 3, "status_codes": ["UNAVAILABLE"]}}}"""), services: services));
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        LockFreeSubchannelsBalancer policy = PolicyTests.Policy(services);
        await TestWait.UntilAsync(() => policy.LastPicker is { Count: 2 }, "both subchannels are ready");
        cluster.Pods[0].FailWith = StatusCode.InvalidArgument;

        for (int i = 0; i < 20; i++)
        {
            try
            {
                await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument)
            {
            }
        }

        Assert.DoesNotContain(policy.Core.GetStatus(), s => s.IsEjected);
    }
}
