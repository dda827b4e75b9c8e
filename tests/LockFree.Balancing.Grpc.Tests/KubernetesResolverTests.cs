using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Grpc.Tests.Protos;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Grpc.Tests;

public sealed class KubernetesResolverTests
{
    [Theory]
    [InlineData("kubernetes:///orders:8080", "orders", "default", 8080, null)]
    [InlineData("kubernetes:///orders:grpc", "orders", "default", null, "grpc")]
    [InlineData("kubernetes:///orders.shop:8080", "orders", "shop", 8080, null)]
    [InlineData("kubernetes:///orders.shop:grpc", "orders", "shop", null, "grpc")]
    [InlineData("kubernetes:///orders.shop.svc.cluster.local:grpc", "orders", "shop", null, "grpc")]
    [InlineData("kubernetes:///orders.shop.svc:9000", "orders", "shop", 9000, null)]
    [InlineData("kubernetes://shop/orders:8080", "orders", "shop", 8080, null)]
    [InlineData("kubernetes://shop/orders:grpc", "orders", "shop", null, "grpc")]
    [InlineData("kubernetes://orders:8080/", "orders", "default", 8080, null)]
    public async Task Create_EveryKuberesolverForm_ResolvesTheService(string target, string name, string ns, int? port, string? portName)
    {
        await using var registry = new KubernetesWatchRegistry();
        var factory = new KubernetesResolverFactory(registry);

        using Resolver resolver = factory.Create(Options(target));

        ServiceReference service = Assert.IsType<KubernetesResolver>(resolver).Service;
        Assert.Equal((name, ns, port, portName), (service.Name, service.Namespace, service.Port, service.PortName));
        Assert.Equal(0, registry.WatchCount); // nothing watched before Start
    }

    [Theory]
    [InlineData("kubernetes:///", ServiceReferenceError.MissingServiceName)]
    [InlineData("kubernetes:///Orders.shop:grpc", ServiceReferenceError.InvalidServiceName)]
    [InlineData("kubernetes:///orders.shop:0", ServiceReferenceError.InvalidPort)]
    [InlineData("kubernetes:///orders.shop:not_a_port_name", ServiceReferenceError.InvalidPort)]
    [InlineData("kubernetes:///a.b.c.d.e:80", ServiceReferenceError.UnsupportedForm)]
    public async Task Create_BadTarget_ThrowsTypedError(string target, ServiceReferenceError error)
    {
        await using var registry = new KubernetesWatchRegistry();
        var factory = new KubernetesResolverFactory(registry);

        var thrown = Assert.Throws<ServiceReferenceFormatException>(() => factory.Create(Options(target)));

        Assert.Equal(error, thrown.Error);
    }

    [Fact]
    public async Task ForAddress_BadTarget_ThrowsTypedError()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(0);

        var thrown = Assert.Throws<ServiceReferenceFormatException>(() => cluster.Channel(target: "kubernetes:///Web.shop:grpc"));

        Assert.Equal(ServiceReferenceError.InvalidServiceName, thrown.Error);
    }

    [Theory]
    [InlineData("kubernetes:///web.shop:grpc", null)]
    [InlineData("kubernetes://shop/web:grpc", null)]
    [InlineData("kubernetes:///web.shop.svc.cluster.local:grpc", null)]
    [InlineData("kubernetes:///web:grpc", "shop")]
    public async Task Call_ThroughEachTargetForm_ReachesThePods(string target, string? defaultNamespace)
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        var client = new Echo.EchoClient(cluster.Channel(target: target, services: cluster.Services(configure: o => o.DefaultNamespace = defaultNamespace ?? "default")));

        WhoReply reply = await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());

        Assert.Contains(reply.Pod, cluster.Pods.Select(p => p.Name));
    }

    [Fact]
    public void ForAddress_NamedPortInAuthorityForm_IsRejectedByUriBeforeTheResolver()
    {
        // kuberesolver's 'kubernetes://name.ns:portname/' is not a System.Uri (the authority's port must be numeric):
        // grpc-dotnet parses the address before any resolver sees it. The numeric form works (next test).
        Assert.Throws<UriFormatException>(() => GrpcChannel.ForAddress("kubernetes://web.shop:grpc/"));
    }

    [Fact]
    public async Task Call_AuthorityFormWithNumericPort_ReachesThePod()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(1);
        var client = new Echo.EchoClient(cluster.Channel(target: $"kubernetes://web.shop:{cluster.Pods[0].Port}/"));

        WhoReply reply = await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());

        Assert.Equal("p0", reply.Pod);
    }

    [Fact]
    public async Task Call_NumericPort_ReachesThePod()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(1);
        var client = new Echo.EchoClient(cluster.Channel(target: $"kubernetes:///web.shop:{cluster.Pods[0].Port}"));

        WhoReply reply = await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());

        Assert.Equal("p0", reply.Pod);
    }

    [Fact]
    public async Task Call_Rbac403BeforeFirstSync_FailsUnavailableNamingTheVerb()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(1);
        for (int i = 0; i < 1000; i++)
        {
            cluster.Server.FailNextList(403, Status(403, "Forbidden",
                "endpointslices.discovery.k8s.io is forbidden: User \"system:serviceaccount:shop:app\" cannot list resource \"endpointslices\" in API group \"discovery.k8s.io\" in the namespace \"shop\""));
        }

        var client = new Echo.EchoClient(cluster.Channel());

        var thrown = await Assert.ThrowsAsync<RpcException>(async () => await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit()));

        Assert.Equal(StatusCode.Unavailable, thrown.StatusCode);
        Assert.Contains("403", thrown.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("list", thrown.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("endpointslices", thrown.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_SyncErrorAfterFirstSet_KeepsTheLastGoodSet()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2);
        var client = new Echo.EchoClient(cluster.Channel());
        await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        cluster.Server.FailNextList(403, Status(403, "Forbidden", "endpointslices.discovery.k8s.io is forbidden"));
        cluster.Server.FailNextWatch(403, Status(403, "Forbidden", "endpointslices.discovery.k8s.io is forbidden"));
        (cluster.Watch ?? await cluster.Server.NextWatchAsync(GrpcCluster.WaitLimit)).Send(Event("ERROR", Gone()));

        for (int i = 0; i < 20; i++)
        {
            WhoReply reply = await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
            Assert.Contains(reply.Pod, cluster.Pods.Select(p => p.Name));
        }
    }

    [Fact]
    public async Task Dispose_LastChannel_LeavesNoWatch()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(1);
        GrpcChannel first = cluster.Channel();
        GrpcChannel second = cluster.Channel();
        await new Echo.EchoClient(first).WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        await new Echo.EchoClient(second).WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit());
        Assert.Equal(1, cluster.Registry.WatchCount); // one watch per Service, shared by both channels

        first.Dispose();
        Assert.Equal(1, cluster.Registry.WatchCount);
        second.Dispose();

        Assert.Equal(0, cluster.Registry.WatchCount);
    }

    [Fact]
    public async Task Refresh_Repeatedly_StartsNoSecondWatch()
    {
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(1);
        var factory = new KubernetesResolverFactory(cluster.Registry);
        using Resolver resolver = factory.Create(Options(GrpcCluster.Target));
        var results = new System.Collections.Concurrent.ConcurrentQueue<ResolverResult>();
        resolver.Start(results.Enqueue);
        Assert.True(cluster.Registry.TryGetWatcher(GrpcCluster.Web, out KubernetesEndpointWatcher? watcher));
        await watcher.WaitForVersionAsync(1, GrpcCluster.Limit());

        for (int i = 0; i < 5; i++)
        {
            resolver.Refresh();
        }

        Assert.Equal(1, cluster.Registry.WatchCount);
        Assert.Equal(1, watcher.Status.ListCount);
        Assert.Single(results);
        BalancerAddress address = Assert.Single(results.Last().Addresses!);
        Assert.True(address.Attributes.TryGetValue(KubernetesBalancerAttributes.Weight, out int weight));
        Assert.Equal(1, weight);
        Assert.True(address.Attributes.TryGetValue(KubernetesBalancerAttributes.Zone, out string? zone));
        Assert.Equal("zone-a", zone);
        Assert.True(address.Attributes.TryGetValue(KubernetesBalancerAttributes.HostOverride, out string? authority));
        Assert.Equal("web.shop", authority);
    }

    // grpc-dotnet builds ResolverOptions itself (its constructor is internal); the tests call the same constructor.
    internal static ResolverOptions Options(string target)
        => (ResolverOptions)Activator.CreateInstance(
            typeof(ResolverOptions),
            System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public,
            binder: null,
            [new Uri(target), 80, NullLoggerFactory.Instance, new GrpcChannelOptions()],
            culture: null)!;
}
