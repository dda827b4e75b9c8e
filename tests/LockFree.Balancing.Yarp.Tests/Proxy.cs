using System.Net;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Yarp.Policies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace LockFree.Balancing.Yarp.Tests;

/// <summary>
/// A real YARP proxy on 127.0.0.1 (Kestrel), configured in memory with <c>AddKubernetesDestinations()</c> and
/// <c>AddLockFreeLoadBalancing()</c>, whose watches reach a <see cref="FakeCluster"/> for Service <c>orders.shop</c>.
/// </summary>
public sealed class Proxy : IAsyncDisposable
{
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    private Proxy(WebApplication app, Uri address, FakeCluster api)
    {
        App = app;
        Api = api;
        Client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { BaseAddress = address, Timeout = WaitLimit };
    }

    public WebApplication App { get; }

    public FakeCluster Api { get; }

    public HttpClient Client { get; }

    public static CancellationToken Limit() => new CancellationTokenSource(WaitLimit).Token;

    public static RouteConfig CatchAll(string clusterId, string routeId = "all", string path = "{**catch-all}")
        => new() { RouteId = routeId, ClusterId = clusterId, Match = new RouteMatch { Path = path } };

    public static ClusterConfig Cluster(string policy, IReadOnlyDictionary<string, string>? metadata, params (string Id, string Address)[] destinations) => new()
    {
        ClusterId = "orders",
        LoadBalancingPolicy = policy,
        Metadata = metadata,
        Destinations = destinations.ToDictionary(d => d.Id, d => new DestinationConfig { Address = d.Address }),
    };

    /// <summary>Starts the proxy; <paramref name="api"/> is the fake API server its watches reach (owned by the caller).</summary>
    public static async Task<Proxy> StartAsync(FakeCluster api, IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters, Action<IServiceCollection>? more = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.AddKubernetesWatchRegistry(o =>
        {
            o.ApiServer = api.BaseAddress;
            o.InitialBackoff = TimeSpan.FromMilliseconds(10);
            o.MaxBackoff = TimeSpan.FromMilliseconds(100);
        });
        builder.Services.AddReverseProxy()
            .LoadFromMemory(routes, clusters)
            .AddKubernetesDestinations(o => o.DefaultNamespace = "shop")
            .AddLockFreeLoadBalancing();
        more?.Invoke(builder.Services);
        WebApplication app = builder.Build();
        try
        {
            app.MapReverseProxy();
            await app.StartAsync(Limit());
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Proxy(app, new Uri(address + "/"), api);
    }

    public ClusterState ClusterState(string id = "orders")
        => App.Services.GetRequiredService<IProxyStateLookup>().TryGetCluster(id, out ClusterState? cluster) ? cluster : throw new InvalidOperationException("no cluster " + id);

    internal LockFreeLoadBalancingPolicy Policy(string name)
        => App.Services.GetServices<ILoadBalancingPolicy>().OfType<LockFreeLoadBalancingPolicy>().Single(p => p.Name == name);

    /// <summary>The ports of the cluster's current destinations, sorted.</summary>
    public int[] DestinationPorts(string id = "orders")
        => [.. ClusterState(id).DestinationsState.AllDestinations.Select(d => new Uri(d.Model.Config.Address).Port).Order()];

    /// <summary>Waits until the cluster's destinations are exactly <paramref name="pods"/>.</summary>
    public Task WaitForPodsAsync(params Pod[] pods)
    {
        int[] wanted = [.. pods.Select(p => p.Port).Order()];
        return Eventually.TrueAsync(() => DestinationPorts().SequenceEqual(wanted), $"the cluster's destinations to become {string.Join(",", wanted)}");
    }

    public async Task<string> GetAsync(string path, string? user = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (user is not null)
        {
            request.Headers.Add("x-user", user);
        }

        using HttpResponseMessage response = await Client.SendAsync(request, Limit());
        string body = await response.Content.ReadAsStringAsync(Limit());
        return response.IsSuccessStatusCode ? body : throw new HttpRequestException($"{(int)response.StatusCode} from the proxy for {path}: {body}", null, response.StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using var limit = new CancellationTokenSource(WaitLimit);
        await App.StopAsync(limit.Token);
        await App.DisposeAsync();
    }
}

/// <summary>Awaits a condition with a deadline, re-checking it every few milliseconds; never a fixed sleep.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? limit = null)
    {
        long deadline = Environment.TickCount64 + (long)(limit ?? Proxy.WaitLimit).TotalMilliseconds;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(5);
        }
    }
}
