using System.Net;
using LockFree.Balancing.Kubernetes.Api;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using Xunit;

namespace LockFree.Balancing.Kubernetes.Tests.RealCluster;

/// <summary>
/// Dead watches are found, healthy ones are left alone (issue 15, gap 1): the read-idle deadline against a half-open
/// connection, bookmarks on the watch cache's cadence, HTTP/2 with every watch of a registry on one connection,
/// HTTP/1.1 for plain http (kubectl proxy). Times are scaled down: a 100 ms bookmark cadence for the real 60 s.
/// </summary>
public sealed class WatchLivenessTests
{
    private static readonly ServiceReference Web = ServiceReference.Parse("web.shop:http");

    private static CancellationToken Limit() => new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token;

    private static async Task<FakeCluster> StartClusterAsync(System.Security.Cryptography.X509Certificates.X509Certificate2? tls = null, bool offerHttp2 = true)
    {
        FakeCluster cluster = await FakeCluster.StartAsync("shop", "web", tls, offerHttp2);
        cluster.Apply(new FakeSlice("web-1", 8080, [new FakeSliceEndpoint("10.0.0.1", "pod-1")]) { MorePorts = [new("grpc", 9090)] });
        return cluster;
    }

    private static KubernetesWatcherOptions Options(Uri server, TimeSpan idle) => new()
    {
        ApiServer = server,
        IdleTimeout = idle,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(5),
        WatchTimeout = TimeSpan.FromSeconds(60),
        Random = new Random(1),
    };

    [Fact]
    public async Task HalfOpenWatch_DetectedByReadIdleDeadline_AndReestablished()
    {
        await using FakeCluster cluster = await StartClusterAsync();
        cluster.BookmarkInterval = null; // the dead server's last words were long ago
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, Options(cluster.BaseAddress, TimeSpan.FromMilliseconds(500)));
        watcher.StartBackgroundSync();
        await watcher.WaitForStatusAsync(s => s.Version >= 1 && cluster.OpenWatches == 1, Limit());

        Assert.Equal(1, cluster.HalfOpenWatches());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long change = cluster.Apply(new FakeSlice("web-2", 8080, [new FakeSliceEndpoint("10.0.0.2", "pod-2")]));

        // The change is lost on the silent connection; it arrives only through the re-established watch.
        KubernetesWatchStatus status = await watcher.WaitForStatusAsync(s => s.ResourceVersion == change.ToString(System.Globalization.CultureInfo.InvariantCulture), Limit());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"re-established after {clock.Elapsed}; the bound is the 0.5 s idle deadline plus backoff");
        Assert.Equal(2, watcher.Endpoints.Count);
        Assert.Contains("silent", status.LastError!.Message, StringComparison.Ordinal);
        Assert.Equal(1, cluster.ListRequests); // resumed from the resourceVersion, no relist
    }

    [Fact]
    public async Task HealthyWatch_OnlyBookmarks_IsNeverReconnected()
    {
        await using FakeCluster cluster = await StartClusterAsync();
        cluster.BookmarkInterval = TimeSpan.FromMilliseconds(50);
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, Options(cluster.BaseAddress, TimeSpan.FromSeconds(1)));
        watcher.StartBackgroundSync();
        await watcher.WaitForStatusAsync(s => s.Version >= 1, Limit());

        // 40 bookmarks = 2 s, two idle deadlines: each bookmark (real shape, "endpoints":null) keeps it alive. The
        // margin (a 1 s deadline for a 50 ms cadence) absorbs a loaded CI machine; the default is 75 s for 60 s.
        CancellationToken limit = Limit();
        while (cluster.BookmarksSent < 40)
        {
            await Task.Delay(20, limit); // polls a counter of the fake server, which has no signal to await
        }

        Assert.True(cluster.WatchRequests == 1, $"{cluster.WatchRequests} watches; last error: {watcher.Status.LastError}");
        Assert.Null(watcher.Status.LastError);
        Assert.Single(watcher.Endpoints);
    }

    [Fact]
    public async Task Bookmarks_FollowCacheCadence_AndOneBeforeDeadline()
    {
        await using FakeCluster cluster = await StartClusterAsync();
        cluster.BookmarkInterval = TimeSpan.FromMinutes(1);
        cluster.BookmarkLeadTime = TimeSpan.FromMilliseconds(1800);
        using var http = new HttpClient();

        // timeoutSeconds=2: the one-minute cadence never fires, the pre-deadline bookmark comes at ~0.2 s, then the end.
        string body = await http.GetStringAsync(new Uri(cluster.BaseAddress, "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb&watch=true&resourceVersion=2&allowWatchBookmarks=true&timeoutSeconds=2"), Limit());

        string line = Assert.Single(body.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("""{"type":"BOOKMARK","object":{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"2","creationTimestamp":null},"addressType":"","endpoints":null,"ports":null}}""", line);
    }

    [Fact]
    public async Task BatchedEvents_InOneChunk_AllApplied()
    {
        await using FakeCluster cluster = await StartClusterAsync();
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, Options(cluster.BaseAddress, TimeSpan.FromSeconds(5)));
        watcher.StartBackgroundSync();
        await watcher.WaitForStatusAsync(s => s.Version >= 1 && cluster.OpenWatches == 1, Limit());

        long last = cluster.ApplyBatch([.. Enumerable.Range(2, 20).Select(i => new FakeSlice("web-" + i, 8080, [new FakeSliceEndpoint("10.0.1." + i, "pod-" + i)]))]);

        await watcher.WaitForStatusAsync(s => s.ResourceVersion == last.ToString(System.Globalization.CultureInfo.InvariantCulture), Limit());
        Assert.Equal(21, watcher.Endpoints.Count);
    }

    [Fact]
    public async Task Registry_OverHttps_AllWatchesShareOneHttp2Connection()
    {
        using var certificates = TestCertificates.Create();
        string ca = certificates.WriteAuthorityPem();
        try
        {
            await using FakeCluster cluster = await StartClusterAsync(certificates.Server);
            KubernetesWatcherOptions options = Options(cluster.BaseAddress, TimeSpan.FromSeconds(5));
            options.CertificateAuthorityFile = ca;
            await using var registry = new KubernetesWatchRegistry(options);
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            int sets = 0;
            using WatchSubscription http = registry.Subscribe(ServiceReference.Parse("web.shop:http"), _ => { if (Interlocked.Increment(ref sets) == 2) seen.TrySetResult(); });
            using WatchSubscription grpc = registry.Subscribe(ServiceReference.Parse("web.shop:grpc"), _ => { if (Interlocked.Increment(ref sets) == 2) seen.TrySetResult(); });
            await seen.Task.WaitAsync(Limit());
            CancellationToken limit = Limit();
            while (cluster.OpenWatches < 2)
            {
                await Task.Delay(10, limit); // polls a counter of the fake server, which has no signal to await
            }

            (string ConnectionId, string Protocol, string Target)[] requests = [.. cluster.Requests];
            Assert.Equal(4, requests.Length); // two LISTs, two WATCHes
            Assert.All(requests, r => Assert.Equal("HTTP/2", r.Protocol));
            Assert.Single(requests.Select(r => r.ConnectionId).Distinct());
        }
        finally
        {
            File.Delete(ca);
        }
    }

    [Fact]
    public async Task HttpsWithoutHttp2_FallsBackToHttp11ByAlpn()
    {
        using var certificates = TestCertificates.Create();
        string ca = certificates.WriteAuthorityPem();
        try
        {
            await using FakeCluster cluster = await StartClusterAsync(certificates.Server, offerHttp2: false);
            KubernetesWatcherOptions options = Options(cluster.BaseAddress, TimeSpan.FromSeconds(5));
            options.CertificateAuthorityFile = ca;
            await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, options);
            watcher.StartBackgroundSync();
            await watcher.WaitForStatusAsync(s => s.Version >= 1 && cluster.OpenWatches == 1, Limit());

            Assert.All(cluster.Requests, r => Assert.Equal("HTTP/1.1", r.Protocol));
            Assert.Single(watcher.Endpoints);
        }
        finally
        {
            File.Delete(ca);
        }
    }

    [Fact]
    public async Task PlainHttp_SpeaksHttp11()
    {
        await using FakeCluster cluster = await StartClusterAsync();
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, Options(cluster.BaseAddress, TimeSpan.FromSeconds(5)));
        watcher.StartBackgroundSync();
        await watcher.WaitForStatusAsync(s => s.Version >= 1 && cluster.OpenWatches == 1, Limit());

        Assert.All(cluster.Requests, r => Assert.Equal("HTTP/1.1", r.Protocol));
    }

    [Fact]
    public void Transport_HasClientGoLivenessSettings()
    {
        using KubernetesTransport transport = KubernetesTransport.Create(
            new KubernetesWatcherOptions { ApiServer = new Uri("https://127.0.0.1:6443/") }.Validated(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var handler = Assert.IsType<SocketsHttpHandler>(transport.Handler);
        Assert.Equal(TimeSpan.FromSeconds(30), handler.KeepAlivePingDelay);
        Assert.Equal(TimeSpan.FromSeconds(15), handler.KeepAlivePingTimeout);
        Assert.Equal(HttpKeepAlivePingPolicy.WithActiveRequests, handler.KeepAlivePingPolicy);
        Assert.NotNull(handler.ConnectCallback);
        Assert.Equal(HttpVersion.Version20, transport.RequestVersion);
        Assert.Equal(HttpVersionPolicy.RequestVersionOrLower, transport.RequestVersionPolicy);
        Assert.Equal(TimeSpan.FromSeconds(75), new KubernetesWatcherOptions().IdleTimeout);
    }

    [Fact]
    public void EnableKeepAlive_SetsSocketOptions()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);

        KubernetesTransport.EnableKeepAlive(socket);

        Assert.Equal(1, (int)socket.GetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.KeepAlive)!);
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(KubernetesTransport.TcpKeepAliveTime, (int)socket.GetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveTime)!);
            Assert.Equal(KubernetesTransport.TcpKeepAliveInterval, (int)socket.GetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveInterval)!);
            Assert.Equal(KubernetesTransport.TcpKeepAliveProbes, (int)socket.GetSocketOption(System.Net.Sockets.SocketOptionLevel.Tcp, System.Net.Sockets.SocketOptionName.TcpKeepAliveRetryCount)!);
        }
    }
}
