using System.Diagnostics.Metrics;
using LockFree.Balancing.Kubernetes.DependencyInjection;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests.DependencyInjection;

/// <summary>
/// <c>AddKubernetesWatchRegistry</c>, the one registration every integration shares: the watchers it creates log
/// through the container, read the container's clock, and refuse bad options when the host starts.
/// </summary>
public sealed class WatchRegistryRegistrationTests
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);
    private static readonly ServiceReference Web = ServiceReference.Parse("web.shop:http");

    private static CancellationToken Limit() => new CancellationTokenSource(WaitLimit).Token;

    [Fact]
    public async Task AddKubernetesWatchRegistry_WatcherLogs_ReachTheContainersLoggerFactory()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.SetList("100", Slice("web-a", "90", "IPv4", HttpPort(8080), Endpoint("10.0.0.1")));
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Debug));
        services.AddKubernetesWatchRegistry(o => o.ApiServer = server.BaseAddress);
        await using ServiceProvider provider = services.BuildServiceProvider();

        KubernetesWatchRegistry registry = provider.GetRequiredService<KubernetesWatchRegistry>();
        using WatchSubscription subscription = registry.Subscribe(Web, new RoundRobinBalancer());
        await subscription.Watcher.WaitForVersionAsync(1, Limit());

        // Event 100: "published 1 endpoints", written by the watcher the registry created from the container's options.
        FakeLogCollector logs = provider.GetFakeLogCollector();
        Assert.Contains(logs.GetSnapshot(), r => r.Id.Id == 100 && r.Category == typeof(KubernetesEndpointWatcher).FullName && r.Message.Contains("published 1 endpoints", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddKubernetesWatchRegistry_WatcherMetrics_OnTheContainersMeter_NotAnotherContainers()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.SetList("100", Slice("web-a", "90", "IPv4", HttpPort(8080), Endpoint("10.0.0.1")));
        ServiceProvider Container()
        {
            var services = new ServiceCollection();
            services.AddMetrics();
            services.AddKubernetesWatchRegistry(o => o.ApiServer = server.BaseAddress);
            return services.BuildServiceProvider();
        }

        await using ServiceProvider first = Container();
        await using ServiceProvider second = Container();
        IMeterFactory meters = first.GetRequiredService<IMeterFactory>();
        Assert.Same(meters, first.GetRequiredService<IOptions<KubernetesWatcherOptions>>().Value.MeterFactory);
        using var firstAge = new MetricCollector<double>(meters, "LockFree.Balancing.Kubernetes", "lockfree.kubernetes.sync.age");
        using var secondAge = new MetricCollector<double>(second.GetRequiredService<IMeterFactory>(), "LockFree.Balancing.Kubernetes", "lockfree.kubernetes.sync.age");

        using WatchSubscription subscription = first.GetRequiredService<KubernetesWatchRegistry>().Subscribe(Web, new RoundRobinBalancer());
        await subscription.Watcher.WaitForVersionAsync(1, Limit());
        firstAge.RecordObservableInstruments();
        secondAge.RecordObservableInstruments();

        var age = Assert.Single(firstAge.GetMeasurementSnapshot());
        Assert.Equal("web", age.Tags["k8s.service.name"]);
        Assert.Empty(secondAge.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task AddKubernetesWatchRegistry_ExplicitLoggerFactory_Wins()
    {
        using var own = new FakeLoggerProvider();
        using var ownFactory = LoggerFactory.Create(b => b.AddProvider(own));
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddFakeLogging());
        services.AddKubernetesWatchRegistry(o => o.LoggerFactory = ownFactory);
        await using ServiceProvider provider = services.BuildServiceProvider();

        Assert.Same(ownFactory, provider.GetRequiredService<IOptions<KubernetesWatcherOptions>>().Value.LoggerFactory);
    }

    [Fact]
    public async Task AddKubernetesWatchRegistry_RegisteredTimeProvider_DrivesTheWatchers()
    {
        var clock = new FakeTimeProvider();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddKubernetesWatchRegistry();
        await using ServiceProvider provider = services.BuildServiceProvider();

        Assert.Same(clock, provider.GetRequiredService<IOptions<KubernetesWatcherOptions>>().Value.TimeProvider);
    }

    [Fact]
    public async Task AddKubernetesWatchRegistry_ExplicitTimeProvider_WinsOverTheContainers()
    {
        var registered = new FakeTimeProvider();
        var own = new FakeTimeProvider();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(registered);
        services.AddKubernetesWatchRegistry(o => o.TimeProvider = own);
        await using ServiceProvider provider = services.BuildServiceProvider();

        Assert.Same(own, provider.GetRequiredService<IOptions<KubernetesWatcherOptions>>().Value.TimeProvider);
    }

    [Fact]
    public async Task AddKubernetesWatchRegistry_InvalidOptions_FailHostStartup_WithTheReason()
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddKubernetesWatchRegistry(o =>
        {
            o.ApiServer = new Uri("ftp://api.example/");
            o.WatchTimeout = TimeSpan.FromSeconds(-1);
        });
        using IHost host = builder.Build();

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Limit()));
        Assert.Contains("ftp://api.example/", error.Message, StringComparison.Ordinal);
        Assert.Contains("absolute http or https URL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddKubernetesWatchRegistry_CalledTwice_OneRegistryAndBothConfigurations()
    {
        var services = new ServiceCollection();
        services.AddKubernetesWatchRegistry(o => o.ListPageSize = 100);
        services.AddKubernetesWatchRegistry(o => o.WatchTimeout = TimeSpan.FromSeconds(60));
        await using ServiceProvider provider = services.BuildServiceProvider();

        Assert.Single(services, d => d.ServiceType == typeof(KubernetesWatchRegistry));
        KubernetesWatcherOptions options = provider.GetRequiredService<IOptions<KubernetesWatcherOptions>>().Value;
        Assert.Equal(100, options.ListPageSize);
        Assert.Equal(TimeSpan.FromSeconds(60), options.WatchTimeout);
    }

    [Fact]
    public void InClusterDefaults_ApplyOnlyInAPodAndOnlyToUntouchedOptions()
    {
        var inPod = new InClusterWatcherDefaults(name => name switch
        {
            "KUBERNETES_SERVICE_HOST" => "10.96.0.1",
            _ => null,
        });
        var untouched = new KubernetesWatcherOptions();
        var explicitServer = new KubernetesWatcherOptions { ApiServer = new Uri("https://api.example:6443/") };
        var outside = new KubernetesWatcherOptions();

        // InCluster() itself reads the real environment; only the decision is tested here when it is absent.
        if (Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST") is null)
        {
            Assert.Throws<InvalidOperationException>(() => inPod.PostConfigure(null, untouched));
        }

        inPod.PostConfigure(null, explicitServer);
        new InClusterWatcherDefaults(_ => null).PostConfigure(null, outside);

        Assert.Equal(new Uri("https://api.example:6443/"), explicitServer.ApiServer);
        Assert.Null(explicitServer.BearerTokenFile);
        Assert.Equal(KubernetesWatcherOptions.KubectlProxyAddress, outside.ApiServer);
    }
}
