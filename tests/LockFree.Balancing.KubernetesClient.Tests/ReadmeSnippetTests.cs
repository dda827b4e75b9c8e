using k8s;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;
using static LockFree.Balancing.KubernetesClient.Tests.TestCluster;

namespace LockFree.Balancing.KubernetesClient.Tests;

/// <summary>The package README's snippet, compiled and run against the fake API server (kubeconfig from KUBECONFIG-free text).</summary>
public sealed class ReadmeSnippetTests
{
    [Fact]
    public async Task ReadmeSnippet_HostWithRegistry_WatchesTheService()
    {
        using var certificates = TestCertificates.Create();
        await using FakeApiServer server = await StartAsync(certificates.Server);
        server.RequiredToken = "readme";
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();

        // --- README snippet (BuildDefaultConfig replaced by the same kubeconfig read from text) ---
        KubernetesClientConfiguration config = KubernetesClientConfiguration.BuildConfigFromConfigFile(
            Text(KubeConfig(server.BaseAddress, "    token: readme", CertificateAuthorityData(certificates.Authority))));
        builder.Services.AddKubernetesWatchRegistry(config);
        var web = ServiceReference.Parse("web:http", config.Namespace ?? "default");
        // --- end of snippet ---

        using IHost host = builder.Build();
        await host.StartAsync(Limit());
        using WatchSubscription subscription = host.Services.GetRequiredService<KubernetesWatchRegistry>().Subscribe(web, new RoundRobinBalancer());
        await subscription.Watcher.WaitForVersionAsync(1, Limit());
        await host.StopAsync(Limit());

        Assert.Equal(Web, web);
        Assert.Equal(2, subscription.Watcher.Endpoints.Count);
    }
}
