using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace LockFree.Balancing.Http.Tests;

/// <summary>
/// <c>ConfigureHttpClientDefaults(b => b.AddKubernetesBalancing())</c>: a builder without a name balances every client
/// under its own name, never twice, and hosts that are not Services fail with an <see cref="HttpRequestException"/> or,
/// when asked, pass through unbalanced.
/// </summary>
public sealed class EveryClientRegistrationTests
{
    private static int CountBalancingHandlers(HttpMessageHandler handler)
    {
        int count = 0;
        for (HttpMessageHandler? current = handler; current is DelegatingHandler delegating; current = delegating.InnerHandler)
        {
            count += current is KubernetesBalancingHandler ? 1 : 0;
        }

        return count;
    }

    [Fact]
    public async Task ConfigureHttpClientDefaults_AddKubernetesBalancing_BalancesEveryClientUnderItsOwnName()
    {
        await using Cluster cluster = await Cluster.StartAsync(2);
        var services = new ServiceCollection();
        services.AddKubernetesWatchRegistry(o => o.ApiServer = cluster.Server.BaseAddress);
        services.ConfigureHttpClientDefaults(b => b.AddKubernetesBalancing(o => o.PortName = "http"));
        services.AddHttpClient("orders", c => c.BaseAddress = Cluster.ServiceUri);
        services.AddHttpClient("reports", c => c.BaseAddress = Cluster.ServiceUri);
        await using ServiceProvider provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IHttpClientFactory>();
        await provider.GetKubernetesBalancing("orders").WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());

        var served = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            served.Add(await factory.CreateClient("orders").GetStringAsync("who", Cluster.Limit()));
            served.Add(await factory.CreateClient("reports").GetStringAsync("who", Cluster.Limit()));
        }

        Assert.All(served, s => Assert.Contains(s, new[] { "b0", "b1" }));
        Assert.Equal(2, served.Distinct().Count()); // balanced, not all on one pod
        Assert.NotSame(provider.GetKubernetesBalancing("orders"), provider.GetKubernetesBalancing("reports"));
        Assert.Equal(1, provider.GetRequiredService<KubernetesWatchRegistry>().WatchCount);
        Assert.Equal(1, CountBalancingHandlers(provider.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler("orders")));
    }

    [Fact]
    public async Task ConfigureHttpClientDefaults_ClientWithItsOwnBalancing_GetsOneHandlerWithItsOwnOptions()
    {
        var services = new ServiceCollection();
        services.ConfigureHttpClientDefaults(b => b.AddKubernetesBalancing(o => o.PortName = "http"));
        services.AddHttpClient("orders").AddKubernetesBalancing(o => o.AffinityHeader = "x-user");
        await using ServiceProvider provider = services.BuildServiceProvider();

        Assert.Equal(1, CountBalancingHandlers(provider.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler("orders")));
        Assert.Equal(1, CountBalancingHandlers(provider.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler("other")));
        KubernetesBalancing orders = provider.GetKubernetesBalancing("orders");
        Assert.Equal("http", orders.Settings.PortName); // the every-client settings, then its own
        Assert.Equal("x-user", orders.Settings.AffinityHeader);
    }

    [Fact]
    public async Task SendAsync_HostThatIsNotAService_FailsWithHttpRequestException_NotArgumentException()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        var services = new ServiceCollection();
        services.AddKubernetesWatchRegistry(o => o.ApiServer = cluster.Server.BaseAddress);
        services.ConfigureHttpClientDefaults(b => b.AddKubernetesBalancing());
        await using ServiceProvider provider = services.BuildServiceProvider();
        HttpClient client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("external");

        HttpRequestException error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetStringAsync($"http://127.0.0.1:{cluster.Backends[0].Port}/who", Cluster.Limit()));
        Assert.Equal(HttpRequestError.NameResolutionError, error.HttpRequestError);
        Assert.Contains("does not name a Kubernetes Service", error.Message, StringComparison.Ordinal);
        Assert.Contains("PassThroughNonServiceHosts", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, cluster.Backends[0].Hits);

        // The answer is cached, and stays the same.
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetStringAsync($"http://127.0.0.1:{cluster.Backends[0].Port}/who", Cluster.Limit()));
    }

    [Fact]
    public async Task SendAsync_PassThroughNonServiceHosts_SendsThroughThePrimaryHandlerUnbalanced()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        var services = new ServiceCollection();
        services.AddKubernetesWatchRegistry(o => o.ApiServer = cluster.Server.BaseAddress);
        services.ConfigureHttpClientDefaults(b => b.AddKubernetesBalancing(o => o.PassThroughNonServiceHosts = true));
        await using ServiceProvider provider = services.BuildServiceProvider();
        HttpClient client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("external");

        Assert.Equal("b0", await client.GetStringAsync($"http://127.0.0.1:{cluster.Backends[0].Port}/who", Cluster.Limit()));
        Assert.Equal(1, cluster.Backends[0].Hits);
        Assert.Equal(0, provider.GetRequiredService<KubernetesWatchRegistry>().WatchCount); // no watch for a non-Service
    }
}
