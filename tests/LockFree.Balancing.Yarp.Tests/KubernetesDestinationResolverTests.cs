using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using LockFree.Balancing.Yarp.Kubernetes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;
using Xunit;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.ServiceDiscovery;

namespace LockFree.Balancing.Yarp.Tests;

public sealed class KubernetesDestinationResolverTests
{
    private static KubernetesDestinationResolver Resolver(KubernetesWatchRegistry registry) =>
        new(registry, new KubernetesDestinationOptions { DefaultNamespace = "shop" }, TimeProvider.System, NullLogger.Instance, _ => null);

    private static KubernetesWatchRegistry Registry(FakeCluster api) => new(new KubernetesWatcherOptions
    {
        ApiServer = api.BaseAddress,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(100),
    }, TimeSpan.Zero);

    [Fact]
    public async Task Resolve_ServiceAddress_OneDestinationPerPod_OthersUntouched_TokenFiresOnChange()
    {
        await using FakeCluster api = await FakeCluster.StartAsync("shop", "orders");
        api.Apply(new FakeSlice("orders-a", 8080, [new FakeSliceEndpoint("10.0.0.1", "a"), new FakeSliceEndpoint("10.0.0.2", "b")]));
        await using KubernetesWatchRegistry registry = Registry(api);
        using KubernetesDestinationResolver resolver = Resolver(registry);

        var plain = new DestinationConfig { Address = "https://api.example.com/" };
        var service = new DestinationConfig
        {
            Address = "k8s://orders:http/api/",
            Health = "k8s://orders:http/healthz",
            Host = "orders.example",
            Metadata = new Dictionary<string, string> { ["team"] = "shop" },
        };
        ResolvedDestinationCollection resolved = await resolver.ResolveDestinationsAsync(
            new Dictionary<string, DestinationConfig> { ["plain"] = plain, ["orders"] = service }, Proxy.Limit());

        Assert.Same(plain, resolved.Destinations["plain"]);
        Assert.Equal(["orders/10.0.0.1:8080", "orders/10.0.0.2:8080", "plain"], resolved.Destinations.Keys.Order(StringComparer.Ordinal));
        DestinationConfig pod = resolved.Destinations["orders/10.0.0.2:8080"];
        Assert.Equal("http://10.0.0.2:8080/api/", pod.Address);
        Assert.Equal("http://10.0.0.2:8080/healthz", pod.Health);
        Assert.Equal("orders.example", pod.Host);
        Assert.Equal("shop", pod.Metadata!["team"]);

        IChangeToken token = resolved.ChangeToken!;
        Assert.False(token.HasChanged);
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable registration = token.RegisterChangeCallback(_ => fired.TrySetResult(), null);
        api.Apply(new FakeSlice("orders-b", 8080, [new FakeSliceEndpoint("10.0.0.3", "c")]));
        await fired.Task.WaitAsync(Proxy.Limit());

        ResolvedDestinationCollection again = await resolver.ResolveDestinationsAsync(
            new Dictionary<string, DestinationConfig> { ["orders"] = service }, Proxy.Limit());
        Assert.Equal(3, again.Destinations.Count);
        Assert.False(again.ChangeToken!.HasChanged);
        Assert.Equal(1, resolver.ServiceCount);
        Assert.Equal(1, registry.WatchCount);
    }

    [Fact]
    public async Task Resolve_OnlyPlainDestinations_NoTokenAndNoWatch()
    {
        await using FakeCluster api = await FakeCluster.StartAsync("shop", "orders");
        await using KubernetesWatchRegistry registry = Registry(api);
        using KubernetesDestinationResolver resolver = Resolver(registry);
        ResolvedDestinationCollection resolved = await resolver.ResolveDestinationsAsync(
            new Dictionary<string, DestinationConfig> { ["a"] = new() { Address = "http://10.0.0.9:80/" } }, Proxy.Limit());
        Assert.Null(resolved.ChangeToken);
        Assert.Single(resolved.Destinations);
        Assert.Equal(0, registry.WatchCount);
    }

    [Fact]
    public async Task Resolve_ApiRefusesTheService_FailsAtOnceWithTheApiServersAnswer()
    {
        await using FakeCluster api = await FakeCluster.StartAsync("shop", "orders");
        await using KubernetesWatchRegistry registry = Registry(api);
        using KubernetesDestinationResolver resolver = Resolver(registry);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        KubernetesApiException error = await Assert.ThrowsAsync<KubernetesApiException>(async () => await resolver.ResolveDestinationsAsync(
            new Dictionary<string, DestinationConfig> { ["a"] = new() { Address = "k8s://payments.shop:http" } }, Proxy.Limit()));
        Assert.Contains("400", error.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < KubernetesDestinationOptions.DefaultInitialSyncTimeout, "an API error must not wait for the timeout");
    }

    [Fact]
    public async Task Resolve_BadServiceAddress_NamesTheDestination()
    {
        await using FakeCluster api = await FakeCluster.StartAsync("shop", "orders");
        await using KubernetesWatchRegistry registry = Registry(api);
        using KubernetesDestinationResolver resolver = Resolver(registry);
        LockFreeConfigException error = await Assert.ThrowsAsync<LockFreeConfigException>(async () => await resolver.ResolveDestinationsAsync(
            new Dictionary<string, DestinationConfig> { ["orders"] = new() { Address = "k8s://orders.shop:http", Health = "k8s://UPPER" } }, Proxy.Limit()));
        Assert.Equal("Health", error.Setting);
        Assert.Contains("destination 'orders'", error.Message, StringComparison.Ordinal);
    }
}
