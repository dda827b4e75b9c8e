using System.Net;
using BenchmarkDotNet.Attributes;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Yarp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.LoadBalancing;

namespace LockFree.Balancing.Benchmarks.Yarp;

/// <summary>
/// A proxied GET on loopback: an HttpClient, a YARP 2.3 proxy (Kestrel) and two Kestrel pods answering a few bytes,
/// one cluster per policy over the same two pods (with one destination YARP skips the policy altogether, so two is the
/// smallest set a policy runs on). YARP's <c>PowerOfTwoChoices</c> is the baseline. Each invocation awaits
/// <see cref="RequestsPerInvoke"/> requests one after another; figures are per request and include the client, both
/// Kestrel servers and the forwarder, so the policy is a small part of them: the point is that ours adds nothing
/// measurable to a real proxied request.
/// </summary>
public class YarpProxyBenchmarks : ISmokeChecked, IDisposable
{
    /// <summary>Requests per benchmark invocation.</summary>
    public const int RequestsPerInvoke = 16;

    private readonly List<WebApplication> _apps = [];
    private readonly string[] _podNames = ["pod-0", "pod-1"];
    private HttpClient _client = null!;

    /// <summary>Starts the pods and the proxy, and warms every route.</summary>
    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    /// <summary>Baseline: YARP's <c>PowerOfTwoChoices</c>.</summary>
    /// <returns>The pod of the last response.</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = RequestsPerInvoke)]
    public Task<string> YarpPowerOfTwoChoices() => SendAsync("/yarp-p2c/who");

    /// <summary>YARP's <c>RoundRobin</c>.</summary>
    /// <returns>The pod of the last response.</returns>
    [Benchmark(OperationsPerInvoke = RequestsPerInvoke)]
    public Task<string> YarpRoundRobin() => SendAsync("/yarp-rr/who");

    /// <summary><c>LockFreePowerOfTwoChoices</c> (in-flight counted at the pick, released by the forwarder wrapper).</summary>
    /// <returns>The pod of the last response.</returns>
    [Benchmark(OperationsPerInvoke = RequestsPerInvoke)]
    public Task<string> LockFreePowerOfTwoChoices() => SendAsync("/lf-p2c/who");

    /// <summary><c>LockFreeConsistentHash</c> with bounded loads (1.25), key from the <c>x-user</c> header.</summary>
    /// <returns>The pod of the last response.</returns>
    [Benchmark(OperationsPerInvoke = RequestsPerInvoke)]
    public Task<string> LockFreeConsistentHashBounded() => SendAsync("/lf-hash/who");

    /// <inheritdoc />
    public void CheckResult(string benchmark, object? result)
    {
        string? pod = result is Task<string> task ? task.GetAwaiter().GetResult() : null;
        if (pod is null || !_podNames.Contains(pod))
        {
            throw new InvalidOperationException($"{benchmark} returned {pod ?? result}, not one of the pods.");
        }
    }

    /// <inheritdoc />
    public void CheckAfterCalls(string benchmark)
    {
    }

    /// <summary>Stops the proxy and the pods.</summary>
    [GlobalCleanup]
    public void Cleanup() => Dispose();

    /// <summary>Stops the proxy and the pods.</summary>
    public void Dispose()
    {
        _client?.Dispose();
        foreach (WebApplication app in _apps)
        {
            app.StopAsync().GetAwaiter().GetResult();
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        _apps.Clear();
        GC.SuppressFinalize(this);
    }

    private async Task<string> SendAsync(string path)
    {
        string pod = "";
        for (int i = 0; i < RequestsPerInvoke; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("x-user", "user-42");
            using HttpResponseMessage response = await _client.SendAsync(request).ConfigureAwait(false);
            pod = await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync().ConfigureAwait(false);
        }

        return pod;
    }

    private async Task SetupAsync()
    {
        var pods = new List<Uri>();
        foreach (string name in _podNames)
        {
            (WebApplication pod, Uri address) = await LoopbackKestrel.StartAsync(context => context.Response.WriteAsync(name)).ConfigureAwait(false);
            _apps.Add(pod);
            pods.Add(address);
        }

        (string Prefix, string Policy, Dictionary<string, string>? Metadata)[] clusters =
        [
            ("yarp-p2c", LoadBalancingPolicies.PowerOfTwoChoices, null),
            ("yarp-rr", LoadBalancingPolicies.RoundRobin, null),
            ("lf-p2c", LockFreeLoadBalancingPolicies.PowerOfTwoChoices, null),
            ("lf-hash", LockFreeLoadBalancingPolicies.ConsistentHash, new() { [LockFreeClusterMetadata.HashKey] = "header:x-user", [LockFreeClusterMetadata.LoadFactor] = "1.25" }),
        ];
        RouteConfig[] routes = [.. clusters.Select(c => new RouteConfig
        {
            RouteId = c.Prefix,
            ClusterId = c.Prefix,
            Match = new RouteMatch { Path = "/" + c.Prefix + "/{**rest}" },
            Transforms = [new Dictionary<string, string> { ["PathRemovePrefix"] = "/" + c.Prefix }],
        })];
        ClusterConfig[] clusterConfigs = [.. clusters.Select(c => new ClusterConfig
        {
            ClusterId = c.Prefix,
            LoadBalancingPolicy = c.Policy,
            Metadata = c.Metadata,
            Destinations = pods.Select((uri, i) => (uri, i)).ToDictionary(p => "pod-" + p.i, p => new DestinationConfig { Address = p.uri.ToString() }),
        })];

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.AddReverseProxy().LoadFromMemory(routes, clusterConfigs).AddLockFreeLoadBalancing();
        WebApplication proxy = builder.Build();
        proxy.MapReverseProxy();
        await proxy.StartAsync().ConfigureAwait(false);
        _apps.Add(proxy);
        string proxyAddress = proxy.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new HttpClient(new SocketsHttpHandler()) { BaseAddress = new Uri(proxyAddress) };

        foreach ((string prefix, _, _) in clusters)
        {
            for (int i = 0; i < 8; i++)
            {
                await SendAsync("/" + prefix + "/who").ConfigureAwait(false);
            }
        }
    }
}
