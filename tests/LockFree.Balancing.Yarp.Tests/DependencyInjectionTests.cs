using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using LockFree.Balancing.Yarp.Kubernetes;
using LockFree.Balancing.Yarp.Policies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Xunit;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.ServiceDiscovery;

namespace LockFree.Balancing.Yarp.Tests;

public sealed class DependencyInjectionTests
{
    [Fact]
    public void AddLockFreeLoadBalancing_Twice_RegistersEachPolicyOnce_AndWrapsTheForwarderOnce()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddReverseProxy().AddLockFreeLoadBalancing().AddLockFreeLoadBalancing();
        using ServiceProvider provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        string[] ours = [.. provider.GetServices<ILoadBalancingPolicy>().OfType<LockFreeLoadBalancingPolicy>().Select(p => p.Name).Order()];
        Assert.Equal([LockFreeLoadBalancingPolicies.ConsistentHash, LockFreeLoadBalancingPolicies.Maglev, LockFreeLoadBalancingPolicies.PowerOfTwoChoices, LockFreeLoadBalancingPolicies.RoundRobin], ours);
        Assert.Contains(provider.GetServices<ILoadBalancingPolicy>(), p => p.Name == LoadBalancingPolicies.PowerOfTwoChoices); // YARP's own stay

        var forwarder = Assert.IsType<LeaseReleasingForwarder>(provider.GetRequiredService<IHttpForwarder>());
        Assert.IsNotType<LeaseReleasingForwarder>(forwarder.Inner);
        Assert.Same(forwarder, provider.GetRequiredService<IHttpForwarder>());
    }

    [Fact]
    public async Task AddKubernetesDestinations_AfterAddDnsDestinationResolver_ServicesFromTheWatchAndOtherNamesFromDns()
    {
        await using FakeCluster api = await FakeCluster.StartAsync("shop", "orders");
        api.Apply(new FakeSlice("orders-a", 8080, [new FakeSliceEndpoint("10.0.0.1", "a")]));
        await using var registry = new KubernetesWatchRegistry(new KubernetesWatcherOptions { ApiServer = api.BaseAddress }, TimeSpan.Zero);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(registry);
        services.AddReverseProxy().AddDnsDestinationResolver().AddKubernetesDestinations(o => o.DefaultNamespace = "shop").AddKubernetesDestinations();
        await using ServiceProvider provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        IDestinationResolver resolver = provider.GetRequiredService<IDestinationResolver>();
        Assert.IsType<KubernetesDestinationResolver>(resolver);
        ResolvedDestinationCollection resolved = await resolver.ResolveDestinationsAsync(new Dictionary<string, global::Yarp.ReverseProxy.Configuration.DestinationConfig>
        {
            ["orders"] = new() { Address = "k8s://orders:http" },
            ["local"] = new() { Address = "http://localhost:5000/" },
        }, Proxy.Limit());

        Assert.Equal("http://10.0.0.1:8080", resolved.Destinations["orders/10.0.0.1:8080"].Address);
        // YARP's DNS resolver answered for the other name: one destination per address, the host kept for the Host header.
        Assert.Contains(resolved.Destinations, d => d.Key.StartsWith("local", StringComparison.Ordinal) && d.Value.Address.Contains("127.0.0.1", StringComparison.Ordinal));
        Assert.All(resolved.Destinations.Where(d => d.Key.StartsWith("local", StringComparison.Ordinal)), d => Assert.Equal("localhost:5000", d.Value.Host));
        Assert.NotNull(resolved.ChangeToken);
    }

    [Fact]
    public void AddLockFreeLoadBalancing_BuilderWithoutAForwarder_SaysToCallAddReverseProxy()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new BareBuilder(new ServiceCollection()).AddLockFreeLoadBalancing());
        Assert.Contains("AddReverseProxy()", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => ((IReverseProxyBuilder)null!).AddLockFreeLoadBalancing());
        Assert.Throws<ArgumentNullException>(() => ((IReverseProxyBuilder)null!).AddKubernetesDestinations());
    }

    [Theory]
    [InlineData(0, null, "InitialSyncTimeout")]
    [InlineData(1000, "Shop", "DefaultNamespace")]
    public void AddKubernetesDestinations_BadOptions_FailValidationAtStart(int timeoutMs, string? ns, string setting)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddReverseProxy().AddKubernetesDestinations(o =>
        {
            o.InitialSyncTimeout = TimeSpan.FromMilliseconds(timeoutMs);
            o.DefaultNamespace = ns;
        });
        using ServiceProvider provider = services.BuildServiceProvider();

        // What the host runs at start (ValidateOnStart), before any configuration load.
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate());
        Assert.Contains("KubernetesDestinationOptions." + setting, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddKubernetesDestinations_ReplacesYarpsResolver_AndTheContainerDisposesIt()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddReverseProxy().AddKubernetesDestinations(o => o.DefaultNamespace = "shop");
        KubernetesDestinationResolver resolver;
        using (ServiceProvider provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }))
        {
            resolver = Assert.IsType<KubernetesDestinationResolver>(Assert.Single(provider.GetServices<IDestinationResolver>()));
            Assert.Equal("shop", resolver.DefaultNamespace);
        }

        resolver.Dispose(); // a second dispose does nothing
        Assert.Throws<ObjectDisposedException>(() => resolver.ResolveDestinationsAsync(
            new Dictionary<string, global::Yarp.ReverseProxy.Configuration.DestinationConfig> { ["a"] = new() { Address = "k8s://orders.shop:http" } }, CancellationToken.None).AsTask().GetAwaiter().GetResult());
    }

    [Fact]
    public async Task Proxy_SharesOneWatchPerService_WithOtherSubscribers_AndLogsThroughTheContainer()
    {
        FakeCluster api = await FakeCluster.StartAsync("shop", "orders");
        Pod pod = await Pod.StartAsync("p0");
        using var logs = new FakeLoggerProvider();
        try
        {
            api.Apply(pod.Slice);
            await using Proxy proxy = await Proxy.StartAsync(api, [Proxy.CatchAll("orders")],
                [Proxy.Cluster(LockFreeLoadBalancingPolicies.RoundRobin, null, ("a", "k8s://orders.shop:http")),
                 new() { ClusterId = "again", Destinations = new Dictionary<string, global::Yarp.ReverseProxy.Configuration.DestinationConfig> { ["b"] = new() { Address = "k8s://orders:http/" } } }],
                more => more.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug)));
            Assert.Equal("p0", await proxy.GetAsync("/who"));

            // Another integration (an HTTP client, a gRPC channel) subscribing to the same Service joins the same watch.
            KubernetesWatchRegistry registry = proxy.App.Services.GetRequiredService<KubernetesWatchRegistry>();
            using WatchSubscription other = registry.Subscribe(ServiceReference.Parse("orders.shop:http"), _ => { });
            Assert.Equal(1, registry.WatchCount);
            Assert.Equal(1, api.OpenWatches);

            IReadOnlyList<FakeLogRecord> records = logs.Collector.GetSnapshot();
            Assert.Contains(records, r => r.Id.Id == 501 && r.Message.Contains("subscribed to the watch of Service orders.shop:http", StringComparison.Ordinal));
            Assert.Contains(records, r => r.Id.Id == 502 && r.Message.Contains("Service orders.shop:http now has 1 ready endpoints", StringComparison.Ordinal));
            Assert.All(records.Where(r => r.Category == "LockFree.Balancing.Yarp"), r => Assert.InRange(r.Id.Id, 500, 599));
        }
        finally
        {
            await pod.DisposeAsync();
            await api.DisposeAsync();
        }
    }

    private sealed class BareBuilder(IServiceCollection services) : IReverseProxyBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
