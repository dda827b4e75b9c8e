using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.ServiceDiscovery;

namespace LockFree.Balancing.ServiceDiscovery.Tests;

/// <summary>
/// The fake API server, a watch registry on it with linger 0 (registered before <c>AddKubernetesEndpoints</c>, which
/// keeps it), an in-memory configuration, and a container with <c>AddServiceDiscovery().AddKubernetesEndpoints()</c>.
/// </summary>
public sealed class Harness : IAsyncDisposable
{
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    private Harness(FakeApiServer server, KubernetesWatchRegistry registry, ServiceProvider services)
    {
        Server = server;
        Registry = registry;
        Services = services;
    }

    public FakeApiServer Server { get; }

    public KubernetesWatchRegistry Registry { get; }

    public ServiceProvider Services { get; }

    public ServiceEndpointResolver Resolver => Services.GetRequiredService<ServiceEndpointResolver>();

    public static CancellationToken Limit() => new CancellationTokenSource(WaitLimit).Token;

    public static async Task<Harness> StartAsync(
        Action<FakeApiServer>? arrange = null,
        Action<KubernetesEndpointProviderOptions>? configure = null,
        Action<KubernetesWatcherOptions>? watcher = null,
        IDictionary<string, string?>? configuration = null,
        Action<IServiceCollection>? more = null)
    {
        FakeApiServer server = await FakeApiServer.StartAsync();
        arrange?.Invoke(server);
        var options = new KubernetesWatcherOptions
        {
            ApiServer = server.BaseAddress,
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            MaxBackoff = TimeSpan.FromMilliseconds(100),
            Random = new Random(1),
        };
        watcher?.Invoke(options);
        var registry = new KubernetesWatchRegistry(options, TimeSpan.Zero);

        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(configuration ?? new Dictionary<string, string?>()).Build());
        services.AddSingleton(registry);

        // A refresh period far beyond any test: whatever re-resolves does so because a change token fired.
        services.AddServiceDiscovery(o => o.RefreshPeriod = TimeSpan.FromMinutes(30))
            .AddKubernetesEndpoints(o =>
            {
                o.DefaultNamespace = "shop";
                configure?.Invoke(o);
            });
        more?.Invoke(services);
        return new Harness(server, registry, services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }));
    }

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Registry.DisposeAsync();
        await Server.DisposeAsync();
    }
}
