using LockFree.Balancing.Http.DependencyInjection;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace LockFree.Balancing.Http.Tests;

/// <summary>The IHttpClientFactory wiring: named clients, one watch shared by all, startup validation, configuration binding.</summary>
public sealed class DependencyInjectionTests
{
    [Fact]
    public async Task TwoNamedClients_SameService_ShareOneWatch_AndReachThePods()
    {
        await using Cluster cluster = await Cluster.StartAsync(2);
        var services = new ServiceCollection();
        services.AddKubernetesWatchRegistry(o => o.ApiServer = cluster.Server.BaseAddress);
        services.AddHttpClient("orders", c => c.BaseAddress = Cluster.ServiceUri).AddKubernetesBalancing(o => o.PortName = "http");
        services.AddHttpClient("reports", c => c.BaseAddress = Cluster.ServiceUri)
            .AddKubernetesBalancing(o =>
            {
                o.PortName = "http";
                o.AffinityHeader = "x-user";
                o.AffinityPicker = BalancingPicker.Maglev;
            });
        await using ServiceProvider provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IHttpClientFactory>();
        KubernetesBalancingProvider balancings = provider.GetRequiredService<KubernetesBalancingProvider>();
        Assert.Same(balancings.Get("orders"), provider.GetKubernetesBalancing("orders"));
        Assert.Equal(2, await provider.GetKubernetesBalancing("orders").WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit()));

        var served = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            served.Add(await factory.CreateClient("orders").GetStringAsync("who", Cluster.Limit()));
            served.Add(await factory.CreateClient("reports").GetStringAsync("who", Cluster.Limit()));
        }

        Assert.All(served, s => Assert.Contains(s, new[] { "b0", "b1" }));
        Assert.Equal(1, provider.GetRequiredService<KubernetesWatchRegistry>().WatchCount);
        Assert.Equal(1, cluster.Server.CountRequests("watch=true"));
        Assert.NotSame(balancings.Get("orders"), balancings.Get("reports"));
        Assert.IsType<MaglevBalancer>(balancings.Get("reports").Resolve(Cluster.ServiceUri).Service.AffinityBalancer);
    }

    [Fact]
    public async Task RecycledHandlers_KeepTheSameBalancerAndWatch()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        var services = new ServiceCollection();
        services.AddKubernetesWatchRegistry(o => o.ApiServer = cluster.Server.BaseAddress);
        services.AddHttpClient("orders", c => c.BaseAddress = Cluster.ServiceUri)
            .AddKubernetesBalancing(o => o.PortName = "http")
            .SetHandlerLifetime(TimeSpan.FromSeconds(1)); // the minimum the factory accepts
        await using ServiceProvider provider = services.BuildServiceProvider();
        var handlers = provider.GetRequiredService<IHttpMessageHandlerFactory>();
        KubernetesBalancing balancing = provider.GetRequiredService<KubernetesBalancingProvider>().Get("orders");
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());

        // Two handler chains built by the factory (a recycled handler is just a new chain) share one balancing set.
        using var first = new HttpClient(handlers.CreateHandler("orders"), disposeHandler: false) { BaseAddress = Cluster.ServiceUri };
        Assert.Equal("b0", await first.GetStringAsync("who", Cluster.Limit()));
        Assert.Same(balancing, provider.GetRequiredService<KubernetesBalancingProvider>().Get("orders"));
        Assert.Equal(1, cluster.Server.CountRequests("watch=true"));
    }

    [Fact]
    public async Task InvalidOptions_FailHostStartup_WithMessagesThatSayWhatIsWrong()
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddHttpClient("orders").AddKubernetesBalancing(o =>
        {
            o.Picker = BalancingPicker.Maglev;
            o.LoadFactor = 0.5;
            o.AffinityHeader = "x-user";
            o.AffinityCookie = "session";
        });
        using IHost host = builder.Build();

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Cluster.Limit()));

        string message = string.Join("\n", exception.Failures);
        Assert.Contains("client 'orders'", message, StringComparison.Ordinal);
        Assert.Contains("Picker 'Maglev' is not accepted", message, StringComparison.Ordinal);
        Assert.Contains("PowerOfTwoChoices, RoundRobin or Random", message, StringComparison.Ordinal);
        Assert.Contains("LoadFactor 0.5 is not accepted: it must be above 1", message, StringComparison.Ordinal);
        Assert.Contains("AffinityHeader and AffinityCookie are both set", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Configuration_BindsEveryBindableOption()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Orders:Balancing:PortName"] = "grpc",
            ["Orders:Balancing:DefaultNamespace"] = "shop",
            ["Orders:Balancing:Picker"] = "RoundRobin",
            ["Orders:Balancing:AffinityPicker"] = "Maglev",
            ["Orders:Balancing:LoadFactor"] = "1.25",
            ["Orders:Balancing:AffinityCookie"] = "session",
            ["Orders:Balancing:RetryServerErrors"] = "true",
            ["Orders:Balancing:LeaseRelease"] = "ResponseHeaders",
            ["Orders:Balancing:Transport"] = "InnerHandler",
            ["Orders:Balancing:MaxBufferedBodyBytes"] = "4096",
            ["Orders:Balancing:FallbackEndpoint"] = "orders.shop.svc:80",
            ["Orders:Balancing:OutlierEjection:ConsecutiveFailures"] = "3",
            ["Orders:Balancing:OutlierEjection:BaseEjectionTime"] = "00:00:10",
        }).Build();
        var services = new ServiceCollection();
        services.AddHttpClient("orders").AddKubernetesBalancing(configuration.GetSection("Orders:Balancing"), o => o.AffinityCookie = "sid");
        await using ServiceProvider provider = services.BuildServiceProvider();

        KubernetesBalancingOptions options = provider.GetRequiredService<IOptionsMonitor<KubernetesBalancingOptions>>().Get("orders");

        Assert.Equal("grpc", options.PortName);
        Assert.Equal("shop", options.DefaultNamespace);
        Assert.Equal(BalancingPicker.RoundRobin, options.Picker);
        Assert.Equal(BalancingPicker.Maglev, options.AffinityPicker);
        Assert.Equal(1.25, options.LoadFactor);
        Assert.Equal("sid", options.AffinityCookie); // code after configuration wins
        Assert.True(options.RetryServerErrors);
        Assert.Equal(LeaseRelease.ResponseHeaders, options.LeaseRelease);
        Assert.Equal(BalancingTransport.InnerHandler, options.Transport);
        Assert.Equal(4096, options.MaxBufferedBodyBytes);
        Assert.Equal("orders.shop.svc:80", options.FallbackEndpoint);
        Assert.Equal(3, options.OutlierEjection.ConsecutiveFailures);
        Assert.Equal(TimeSpan.FromSeconds(10), options.OutlierEjection.BaseEjectionTime);
    }

    [Fact]
    public async Task Configuration_BindsTheOtherOptions()
    {
        // The options the test above leaves at their defaults, each set away from its default here.
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Orders:Balancing:Service"] = "orders.shop:grpc",
            ["Orders:Balancing:AffinityHeader"] = "x-user-id",
            ["Catalog:Balancing:AffinityQueryParameter"] = "user", // one affinity source per client: a second client
            ["Orders:Balancing:Topology:LocalZone"] = "zone-a",
            ["Orders:Balancing:Topology:LocalNode"] = "node-7",
            ["Orders:Balancing:Topology:RequireHints"] = "true",
            ["Orders:Balancing:OutlierEjectionEnabled"] = "false",
            ["Orders:Balancing:RetryConnectionFailures"] = "false",
            ["Orders:Balancing:ServerErrorsAreFailures"] = "false",
        }).Build();
        var services = new ServiceCollection();
        services.AddHttpClient("orders").AddKubernetesBalancing(configuration.GetSection("Orders:Balancing"));
        services.AddHttpClient("catalog").AddKubernetesBalancing(configuration.GetSection("Catalog:Balancing"));
        await using ServiceProvider provider = services.BuildServiceProvider();

        IOptionsMonitor<KubernetesBalancingOptions> monitor = provider.GetRequiredService<IOptionsMonitor<KubernetesBalancingOptions>>();
        KubernetesBalancingOptions options = monitor.Get("orders");

        Assert.Equal("user", monitor.Get("catalog").AffinityQueryParameter);
        Assert.Equal("orders.shop:grpc", options.Service);
        Assert.Equal("x-user-id", options.AffinityHeader);
        Assert.NotNull(options.Topology);
        Assert.Equal("zone-a", options.Topology.LocalZone);
        Assert.Equal("node-7", options.Topology.LocalNode);
        Assert.True(options.Topology.RequireHints);
        Assert.False(options.OutlierEjectionEnabled);
        Assert.False(options.RetryConnectionFailures);
        Assert.False(options.ServerErrorsAreFailures);
    }
}
