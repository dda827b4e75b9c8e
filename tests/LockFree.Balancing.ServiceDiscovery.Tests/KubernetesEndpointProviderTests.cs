using System.Diagnostics;
using System.Net;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using Microsoft.Extensions.ServiceDiscovery;
using Xunit;
using Xunit.Abstractions;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.ServiceDiscovery.Tests;

/// <summary>Resolution through ServiceDiscovery's own <see cref="ServiceEndpointResolver"/> against the fake API server. Every wait is bounded; nothing sleeps.</summary>
public sealed class KubernetesEndpointProviderTests(ITestOutputHelper output)
{
    // Service web.shop (the only Service the fake API server serves): ports http=8080 and metrics=9090 (Payloads.Ports always adds metrics), two ready pods and
    // one that is not ready.
    private static void TwoPods(FakeApiServer server) => server.SetList("100",
        Slice("web-a", "90", "IPv4", Ports("http", 8080),
            Endpoint("10.0.0.1", zone: "zone-a"),
            Endpoint("10.0.0.2", zone: "zone-b"),
            Endpoint("10.0.0.3", conditions: """{"ready":false,"serving":false,"terminating":true}""")));

    private static string[] Keys(ServiceEndpointSource source) => [.. source.Endpoints.Select(e => e.EndPoint.ToString()!).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task GetEndpointsAsync_TwoPortsByEndpointName_ResolvesEachPortsReadyPods()
    {
        await using Harness harness = await Harness.StartAsync(TwoPods);

        ServiceEndpointSource http = await harness.Resolver.GetEndpointsAsync("https+http://_http.web.shop", Harness.Limit());
        ServiceEndpointSource metrics = await harness.Resolver.GetEndpointsAsync("http://_metrics.web.shop", Harness.Limit());

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], Keys(http));
        Assert.Equal(["10.0.0.1:9090", "10.0.0.2:9090"], Keys(metrics));
        Assert.All(http.Endpoints, e => Assert.IsType<IPEndPoint>(e.EndPoint));
        IKubernetesEndpointFeature feature = http.Endpoints
            .Select(e => e.Features.Get<IKubernetesEndpointFeature>()!)
            .Single(f => f.Endpoint.Host == "10.0.0.2");
        Assert.Equal("zone-b", feature.Endpoint.Zone);
        Assert.Equal(1, feature.Endpoint.Weight);
        Assert.Equal(ServiceReference.Parse("web.shop:http"), feature.Service);
        Assert.Equal(2, harness.Registry.WatchCount); // one watch per (Service, port)
    }

    [Fact]
    public async Task GetEndpointsAsync_NoEndpointName_UsesDefaultPortName()
    {
        await using Harness harness = await Harness.StartAsync(TwoPods, o => o.DefaultPortName = "metrics");

        ServiceEndpointSource source = await harness.Resolver.GetEndpointsAsync("http://web.shop", Harness.Limit());

        Assert.Equal(["10.0.0.1:9090", "10.0.0.2:9090"], Keys(source));
    }

    [Fact]
    public async Task GetEndpointsAsync_OneLabelName_UsesDefaultNamespace()
    {
        await using Harness harness = await Harness.StartAsync(TwoPods);

        ServiceEndpointSource source = await harness.Resolver.GetEndpointsAsync("http://_http.web", Harness.Limit());

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], Keys(source));
        Assert.Contains(harness.Server.Requests, r => r.Contains("/namespaces/shop/endpointslices", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GetEndpointsAsync_WatchEvent_FiresChangeTokenAndNextResolutionSeesNewSetWithoutRefreshPeriod()
    {
        await using Harness harness = await Harness.StartAsync(TwoPods);
        const string Name = "http://_http.web.shop";
        ServiceEndpointSource before = await harness.Resolver.GetEndpointsAsync(Name, Harness.Limit());
        WatchConnection watch = await harness.Server.NextWatchAsync(Harness.WaitLimit);
        var fired = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable registration = before.ChangeToken.RegisterChangeCallback(static state => ((TaskCompletionSource<long>)state!).TrySetResult(Stopwatch.GetTimestamp()), fired);

        long sent = Stopwatch.GetTimestamp();
        watch.Send(Event("MODIFIED", Slice("web-a", "101", "IPv4", Ports("http", 8080), Endpoint("10.0.0.2"), Endpoint("10.0.0.4"))));
        long firedAt = await fired.Task.WaitAsync(Harness.WaitLimit);
        ServiceEndpointSource after = await harness.Resolver.GetEndpointsAsync(Name, Harness.Limit());
        TimeSpan toToken = Stopwatch.GetElapsedTime(sent, firedAt);
        TimeSpan toResolution = Stopwatch.GetElapsedTime(sent);

        output.WriteLine($"EndpointSlice event -> change token fired: {toToken.TotalMilliseconds:0.0} ms; -> next resolution returned the new set: {toResolution.TotalMilliseconds:0.0} ms (ServiceDiscovery RefreshPeriod: 30 min)");
        Assert.Equal(["10.0.0.2:8080", "10.0.0.4:8080"], Keys(after));
        Assert.True(toResolution < TimeSpan.FromSeconds(2), $"took {toResolution}");
        Assert.True(before.ChangeToken.HasChanged);
        Assert.False(after.ChangeToken.HasChanged);
    }

    [Fact]
    public async Task GetEndpointsAsync_NonServiceName_PassesToConfigurationProvider()
    {
        await using Harness harness = await Harness.StartAsync(TwoPods, configuration: new Dictionary<string, string?>
        {
            ["Services:api.github.com:https:0"] = "10.9.8.7:8443",
        });

        ServiceEndpointSource source = await harness.Resolver.GetEndpointsAsync("https://api.github.com", Harness.Limit());

        Assert.Equal(["10.9.8.7:8443"], Keys(source));
        Assert.Equal(0, harness.Registry.WatchCount);
        Assert.Empty(harness.Server.Requests);
    }

    [Fact]
    public async Task GetEndpointsAsync_ConfigurationNamesTheService_ConfigurationWinsAndNoWatchStarts()
    {
        await using Harness harness = await Harness.StartAsync(TwoPods, configuration: new Dictionary<string, string?>
        {
            ["Services:web.shop:http:0"] = "10.9.9.9:80",
        });

        ServiceEndpointSource source = await harness.Resolver.GetEndpointsAsync("http://_http.web.shop", Harness.Limit());

        Assert.Equal(["10.9.9.9:80"], Keys(source));
        Assert.Equal(0, harness.Registry.WatchCount);
    }

    [Fact]
    public async Task GetEndpointsAsync_ServiceWithoutReadyPods_LeavesNameToPassThroughThenFollowsTheWatch()
    {
        await using Harness harness = await Harness.StartAsync(s => s.SetList("100"));
        const string Name = "http://_http.web.shop";

        ServiceEndpointSource empty = await harness.Resolver.GetEndpointsAsync(Name, Harness.Limit());
        DnsEndPoint passThrough = Assert.IsType<DnsEndPoint>(Assert.Single(empty.Endpoints).EndPoint);
        Assert.Equal("web.shop", passThrough.Host);

        WatchConnection watch = await harness.Server.NextWatchAsync(Harness.WaitLimit);
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable registration = empty.ChangeToken.RegisterChangeCallback(static s => ((TaskCompletionSource)s!).TrySetResult(), fired);
        watch.Send(Event("ADDED", Slice("web-a", "101", "IPv4", Ports("http", 8080), Endpoint("10.0.0.7"))));
        await fired.Task.WaitAsync(Harness.WaitLimit);

        ServiceEndpointSource ready = await harness.Resolver.GetEndpointsAsync(Name, Harness.Limit());
        Assert.Equal(["10.0.0.7:8080"], Keys(ready));
    }

    [Fact]
    public async Task GetEndpointsAsync_Forbidden_ThrowsWithTheMissingRbacVerb()
    {
        await using Harness harness = await Harness.StartAsync(
            s => s.FailNextList(403, Status(403, "Forbidden", "endpointslices.discovery.k8s.io is forbidden: User system:serviceaccount:shop:app cannot list resource")),
            watcher: o => o.InitialBackoff = o.MaxBackoff = TimeSpan.FromMinutes(5)); // no retry during the test

        var exception = await Assert.ThrowsAsync<KubernetesApiException>(() => harness.Resolver.GetEndpointsAsync("http://_http.web.shop", Harness.Limit()).AsTask());

        output.WriteLine(exception.Message);
        Assert.Equal(403, exception.StatusCode);
        Assert.Contains("'list'", exception.Message, StringComparison.Ordinal);
        Assert.Contains("endpointslices", exception.Message, StringComparison.Ordinal);
        Assert.Contains("namespace 'shop'", exception.Message, StringComparison.Ordinal);

        // The next resolution does not hang either: the watch has not synced, so the recorded error is the answer again.
        await Assert.ThrowsAsync<KubernetesApiException>(() => harness.Resolver.GetEndpointsAsync("http://_http.web.shop", Harness.Limit()).AsTask());
    }

    [Fact]
    public async Task GetEndpointsAsync_ApiServerUnreachable_ThrowsWithTheConnectionError()
    {
        int refusing = RefusingPort();
        await using Harness harness = await Harness.StartAsync(watcher: o =>
        {
            o.ApiServer = new Uri($"http://127.0.0.1:{refusing}");
            o.InitialBackoff = o.MaxBackoff = TimeSpan.FromMinutes(5);
        });

        var exception = await Assert.ThrowsAsync<KubernetesApiException>(() => harness.Resolver.GetEndpointsAsync("http://_http.web.shop", Harness.Limit()).AsTask());

        output.WriteLine(exception.Message);
        Assert.Null(exception.StatusCode);
        Assert.Contains($"127.0.0.1:{refusing}", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DisposeAsync_ServiceProviderDisposed_LeavesNoWatch()
    {
        Harness harness = await Harness.StartAsync(TwoPods);
        await using (harness.Server)
        await using (harness.Registry)
        {
            _ = await harness.Resolver.GetEndpointsAsync("http://_http.web.shop", Harness.Limit());
            _ = await harness.Resolver.GetEndpointsAsync("https+http://_http.web.shop", Harness.Limit()); // same watch
            Assert.Equal(1, harness.Registry.WatchCount);

            await harness.Services.DisposeAsync(); // disposes ServiceDiscovery's resolver, its watchers and our providers

            Assert.Equal(0, harness.Registry.WatchCount);
        }
    }

    [Fact]
    public async Task PopulateAsync_DisposedWhileWaitingForFirstSync_StopsWaitingAndReleases()
    {
        // The API server never answers the LIST within the test: the provider is still waiting when it is disposed.
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var registry = new Kubernetes.Sharing.KubernetesWatchRegistry(
                new KubernetesWatcherOptions { ApiServer = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"), RequestTimeout = TimeSpan.FromMinutes(5) },
                TimeSpan.Zero);
            await using (registry)
            {
                var factory = new KubernetesEndpointProviderFactory(registry, new KubernetesEndpointProviderOptions { InitialSyncTimeout = TimeSpan.FromMinutes(1) }, null, null, static _ => null);
                Assert.True(ServiceEndpointQuery.TryParse("http://_http.web.shop", out ServiceEndpointQuery? query));
                Assert.True(factory.TryCreateProvider(query, out IServiceEndpointProvider? provider));
                var builder = new TestEndpointBuilder();

                Task populate = provider.PopulateAsync(builder, CancellationToken.None).AsTask();
                using (TcpClientAccepted accepted = await TcpClientAccepted.AcceptAsync(listener))
                {
                    Assert.False(populate.IsCompleted);
                    Assert.Equal(1, registry.WatchCount);

                    await provider.DisposeAsync();

                    await Assert.ThrowsAnyAsync<ObjectDisposedException>(() => populate.WaitAsync(Harness.WaitLimit));
                    Assert.Equal(0, registry.WatchCount);
                }
            }
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task PopulateAsync_NoAnswerWithinTimeout_ThrowsTimeoutNamingTheSetting()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var registry = new Kubernetes.Sharing.KubernetesWatchRegistry(
                new KubernetesWatcherOptions { ApiServer = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"), RequestTimeout = TimeSpan.FromMinutes(5) },
                TimeSpan.Zero);
            await using (registry)
            {
                var factory = new KubernetesEndpointProviderFactory(registry, new KubernetesEndpointProviderOptions { InitialSyncTimeout = TimeSpan.FromMilliseconds(200) }, null, null, static _ => null);
                Assert.True(ServiceEndpointQuery.TryParse("http://_http.web.shop", out ServiceEndpointQuery? query));
                Assert.True(factory.TryCreateProvider(query, out IServiceEndpointProvider? provider));
                await using (provider)
                {
                    var exception = await Assert.ThrowsAsync<TimeoutException>(() => provider.PopulateAsync(new TestEndpointBuilder(), CancellationToken.None).AsTask().WaitAsync(Harness.WaitLimit));
                    Assert.Contains("InitialSyncTimeout", exception.Message, StringComparison.Ordinal);
                }

                Assert.Equal(0, registry.WatchCount);
            }
        }
        finally
        {
            listener.Stop();
        }
    }

    private static int RefusingPort()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>One accepted connection that is never answered; disposing closes it.</summary>
    private sealed class TcpClientAccepted : IDisposable
    {
        private readonly System.Net.Sockets.TcpClient _client;

        private TcpClientAccepted(System.Net.Sockets.TcpClient client) => _client = client;

        public static async Task<TcpClientAccepted> AcceptAsync(System.Net.Sockets.TcpListener listener)
            => new(await listener.AcceptTcpClientAsync(Harness.Limit()));

        public void Dispose() => _client.Dispose();
    }
}
