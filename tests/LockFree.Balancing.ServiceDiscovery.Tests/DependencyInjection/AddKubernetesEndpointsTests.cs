using System.Collections.Concurrent;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.ServiceDiscovery;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.ServiceDiscovery.Tests.DependencyInjection;

/// <summary>The registration, end to end: an HttpClient with ServiceDiscovery reaching real Kestrel pods by Service name.</summary>
public sealed class AddKubernetesEndpointsTests
{
    [Fact]
    public async Task HttpClient_AddServiceDiscovery_ReachesKestrelPodsByServiceName()
    {
        var hits = new ConcurrentDictionary<string, int>();
        (WebApplication App, Uri Address)[] pods = new (WebApplication, Uri)[2];
        for (int i = 0; i < pods.Length; i++)
        {
            string name = "pod-" + i;
            pods[i] = await LoopbackKestrel.StartAsync(async context =>
            {
                hits.AddOrUpdate(name, 1, static (_, n) => n + 1);
                await context.Response.WriteAsync(name + " " + context.Request.Path);
            });
        }

        try
        {
            // One slice per pod: both on 127.0.0.1, each with its own port named http (plus metrics=9090).
            await using Harness harness = await Harness.StartAsync(
                s => s.SetList("100", [.. pods.Select((p, i) => Slice("web-" + i, "50", "IPv4", Ports("http", p.Address.Port), Endpoint("127.0.0.1")))]),
                o => o.DefaultPortName = "http",
                more: services => services.AddHttpClient("web", c => c.BaseAddress = new Uri("http://web.shop")).AddServiceDiscovery());
            HttpClient client = harness.Services.GetRequiredService<IHttpClientFactory>().CreateClient("web");

            var bodies = new List<string>();
            for (int i = 0; i < 4; i++)
            {
                using CancellationTokenSource limit = new(Harness.WaitLimit);
                bodies.Add(await client.GetStringAsync("/hello", limit.Token));
            }

            Assert.All(bodies, b => Assert.EndsWith(" /hello", b, StringComparison.Ordinal));
            Assert.Equal(2, hits["pod-0"]); // ServiceDiscovery's own selector: round robin
            Assert.Equal(2, hits["pod-1"]);
            Assert.Equal(1, harness.Registry.WatchCount);
        }
        finally
        {
            foreach ((WebApplication app, _) in pods)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
    }

    [Fact]
    public void AddKubernetesEndpoints_RegistersOneFactoryAndKeepsAnEarlierRegistry()
    {
        var registry = new KubernetesWatchRegistry(linger: TimeSpan.Zero);
        var services = new ServiceCollection();
        services.AddSingleton(registry);
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddServiceDiscovery().AddKubernetesEndpoints().AddKubernetesEndpoints();
        using ServiceProvider provider = services.BuildServiceProvider();

        Assert.Single(provider.GetServices<IServiceEndpointProviderFactory>().OfType<KubernetesEndpointProviderFactory>());
        Assert.Same(registry, provider.GetRequiredService<KubernetesWatchRegistry>());
        registry.Dispose();
    }

    [Fact]
    public void AddKubernetesEndpoints_NoDefaultNamespaceOutsideAPod_UsesDefault()
    {
        var factory = new KubernetesEndpointProviderFactory(new KubernetesWatchRegistry(), new KubernetesEndpointProviderOptions(), null, null, static _ => null);
        var inPod = new KubernetesEndpointProviderFactory(new KubernetesWatchRegistry(), new KubernetesEndpointProviderOptions(), null, null, static _ => "payments");

        Assert.Equal("default", factory.DefaultNamespace);
        Assert.Equal("payments", inPod.DefaultNamespace);
    }

    [Theory]
    [InlineData(0.0, "InitialSyncTimeout")]
    [InlineData(600.0, "InitialSyncTimeout")]
    public void Options_InvalidTimeout_FailsValidationNamingTheSetting(double seconds, string setting)
    {
        var services = new ServiceCollection();
        services.AddKubernetesEndpoints(o => o.InitialSyncTimeout = TimeSpan.FromSeconds(seconds));
        using ServiceProvider provider = services.BuildServiceProvider();

        var exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<KubernetesEndpointProviderOptions>>().Value);
        Assert.Contains(setting, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_InvalidNames_FailValidationNamingEachSetting()
    {
        var services = new ServiceCollection();
        services.AddKubernetesEndpoints(o =>
        {
            o.DefaultNamespace = "Not_A_Namespace";
            o.DefaultPortName = "way-too-long-port-name";
            o.Namespaces.Add("UPPER");
        });
        using ServiceProvider provider = services.BuildServiceProvider();

        var exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<KubernetesEndpointProviderOptions>>().Value);
        Assert.Contains("DefaultNamespace", exception.Message, StringComparison.Ordinal);
        Assert.Contains("DefaultPortName", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Namespaces", exception.Message, StringComparison.Ordinal);
    }
}
