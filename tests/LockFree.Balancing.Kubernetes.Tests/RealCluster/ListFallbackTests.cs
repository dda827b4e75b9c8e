using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests.RealCluster;

/// <summary>The reflector's LIST fallback rules against the scripted server, and the absence of a periodic relist.</summary>
public sealed class ListFallbackTests : IAsyncLifetime
{
    private static readonly ServiceReference Web = ServiceReference.Parse("web.shop:http");
    private FakeApiServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeApiServer.StartAsync();
        _server.SetList("100", Slice("web-a", "90", "IPv4", HttpPort(8080), Endpoint("10.0.0.1")));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static CancellationToken Limit() => new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token;

    private KubernetesEndpointWatcher CreateWatcher(TimeProvider? clock = null) => new(Web, _ => { }, new KubernetesWatcherOptions
    {
        ApiServer = _server.BaseAddress,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(5),
        IdleTimeout = TimeSpan.FromSeconds(5),
        WatchTimeout = TimeSpan.FromSeconds(60),
        TimeProvider = clock ?? TimeProvider.System,
        Random = new Random(1),
    });

    private string[] Lists() => [.. _server.Requests.Where(r => !r.Contains("watch=true", StringComparison.Ordinal))];

    [Theory]
    [InlineData(504)]
    [InlineData(410)]
    public async Task List_VersionRefused_ListsAgainAtOnceWithConsistentRead(int code)
    {
        _server.FailNextList(code, code == 504
            ? TooLargeResourceVersionStatus("0", "0")
            : Status(410, "Expired", "too old resource version: 0 (100)"));
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        await watcher.SyncOnceAsync(Limit());

        string[] lists = Lists();
        Assert.Equal(2, lists.Length);
        Assert.Contains("resourceVersion=0&limit=500", lists[0], StringComparison.Ordinal);
        Assert.DoesNotContain("resourceVersion=", lists[1], StringComparison.Ordinal);
        Assert.Contains("limit=500", lists[1], StringComparison.Ordinal);
        Assert.Equal("100", watcher.Status.ResourceVersion);
        Assert.Single(watcher.Endpoints);
    }

    [Fact]
    public async Task WatchAheadOfServer_InStream504_RelistsFromLastVersionThenEtcd()
    {
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());
        first.Send(Bookmark("150"));
        await watcher.WaitForStatusAsync(s => s.ResourceVersion == "150", Limit());

        // The replica behind the next connection has not reached 150: 504 in the stream, then on the LIST at 150.
        _server.FailNextList(504, TooLargeResourceVersionStatus("150", "120"), retryAfter: "1");
        _server.SetList("160", Slice("web-a", "155", "IPv4", HttpPort(8080), Endpoint("10.0.0.1"), Endpoint("10.0.0.2")));
        first.Send("{\"type\":\"ERROR\",\"object\":" + TooLargeResourceVersionStatus("150", "120") + "}");
        WatchConnection second = await _server.NextWatchAsync();
        KubernetesWatchStatus status = await watcher.WaitForVersionAsync(2, Limit());

        string[] lists = Lists();
        Assert.Equal(3, lists.Length);
        Assert.Contains("resourceVersion=150", lists[1], StringComparison.Ordinal); // not older than what was seen, from the cache
        Assert.DoesNotContain("limit=", lists[1], StringComparison.Ordinal);
        Assert.DoesNotContain("resourceVersion=", lists[2], StringComparison.Ordinal); // then a consistent read
        Assert.Equal("160", second.ResourceVersion);
        Assert.Equal(2, watcher.Endpoints.Count);
        Assert.Equal(504, status.LastError!.StatusCode);
    }

    [Fact]
    public async Task WatchRefusedWith504TooLarge_Relists_ButOther504Retries()
    {
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        _server.FailNextWatch(504, Status(504, "Timeout", "the server was unable to respond in time"));
        _server.FailNextWatch(504, TooLargeResourceVersionStatus("100", "90"));
        first.End();
        WatchConnection third = await _server.NextWatchAsync();

        string[] requests = [.. _server.Requests];
        Assert.Equal(2, Lists().Length); // the plain 504 retried the watch; the "Too large" one relisted
        Assert.Contains("resourceVersion=100", requests[^2], StringComparison.Ordinal);
        Assert.DoesNotContain("watch=true", requests[^2], StringComparison.Ordinal);
        Assert.Equal("100", third.ResourceVersion);
    }

    [Fact]
    public async Task List_OtherError_IsNotRetriedFromEtcd()
    {
        _server.FailNextList(500, Status(500, "InternalError", "boom"));
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));

        Assert.Single(Lists());
    }

    [Fact]
    public async Task DefaultOptions_HealthyWatchForHours_NeverRelists()
    {
        var clock = new ShiftableTimeProvider();
        await using KubernetesEndpointWatcher watcher = CreateWatcher(clock);
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        clock.Advance(TimeSpan.FromHours(5));
        first.Send(Bookmark("150"));
        first.End();
        WatchConnection second = await _server.NextWatchAsync();

        Assert.Equal("150", second.ResourceVersion);
        Assert.Single(Lists());
        Assert.Equal(1, watcher.Status.ListCount);
    }

    [Fact]
    public void ResyncInterval_Default_IsInfinite_AndZeroIsRefused()
    {
        Assert.Equal(Timeout.InfiniteTimeSpan, new KubernetesWatcherOptions().ResyncInterval);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new KubernetesEndpointWatcher(Web, _ => { }, new KubernetesWatcherOptions { ResyncInterval = TimeSpan.Zero }));
        Assert.Contains("ResyncInterval", error.Message, StringComparison.Ordinal);
    }
}
