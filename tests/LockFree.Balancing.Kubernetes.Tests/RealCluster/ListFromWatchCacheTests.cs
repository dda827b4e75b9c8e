using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests.RealCluster;

/// <summary>
/// LISTs go to the API server's watch cache the way client-go's reflector sends them (issue 15, gap 2): the first at
/// <c>resourceVersion=0</c>, a relist at the last version seen without a limit, a consistent read from etcd only when
/// the server refuses the version; and no periodic relist while the watch is healthy.
/// </summary>
public sealed class ListFromWatchCacheTests : IAsyncLifetime
{
    private static readonly ServiceReference Web = ServiceReference.Parse("web.shop:http");
    private FakeCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = await FakeCluster.StartAsync("shop", "web");
        for (int i = 0; i < 5; i++)
        {
            _cluster.Apply(new FakeSlice("web-" + i, 8080, [new FakeSliceEndpoint("10.0.0." + (i + 1), "pod-" + i)]));
        }
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private static CancellationToken Limit() => new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token;

    private KubernetesEndpointWatcher CreateWatcher(Action<KubernetesWatcherOptions>? configure = null)
    {
        var options = new KubernetesWatcherOptions
        {
            ApiServer = _cluster.BaseAddress,
            ListPageSize = 2,
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            MaxBackoff = TimeSpan.FromMilliseconds(50),
            RequestTimeout = TimeSpan.FromSeconds(5),
            IdleTimeout = TimeSpan.FromSeconds(5),
            WatchTimeout = TimeSpan.FromSeconds(60),
            Random = new Random(1),
        };
        configure?.Invoke(options);
        return new KubernetesEndpointWatcher(Web, _ => { }, options);
    }

    [Fact]
    public async Task FirstList_AsksForVersion0WithLimit_ServedFromWatchCacheInOnePage()
    {
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();

        await watcher.WaitForStatusAsync(s => s.Version >= 1 && _cluster.OpenWatches == 1, Limit());

        ListQuery list = Assert.Single(_cluster.ListQueries);
        Assert.Equal("0", list.ResourceVersion);
        Assert.Null(list.ResourceVersionMatch); // client-go's reflector sends none with a LIST
        Assert.Equal(2, list.Limit);
        Assert.Null(list.Continue);
        Assert.Equal("kubernetes.io/service-name=web", list.LabelSelector);
        Assert.True(list.FromWatchCache);
        Assert.Equal(0, _cluster.EtcdListRequests);
        Assert.Equal(5, watcher.Endpoints.Count);
    }

    [Fact]
    public async Task FirstList_WatchCachePages_FollowsContinueTokens()
    {
        _cluster.WatchCachePaginates = true;
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        await watcher.SyncOnceAsync(Limit());

        Assert.Equal(5, watcher.Endpoints.Count);
        ListQuery[] lists = [.. _cluster.ListQueries];
        Assert.Equal(3, lists.Length);
        Assert.All(lists, q => Assert.Equal("0", q.ResourceVersion));
        Assert.All(lists, q => Assert.Equal(2, q.Limit));
        Assert.Equal([null, "c1", "c2"], lists.Select(q => q.Continue));
    }

    [Fact]
    public async Task Relist_AfterGone_AsksForLastVersionWithoutLimit_FromWatchCache()
    {
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        await watcher.WaitForStatusAsync(s => s.Version >= 1 && _cluster.OpenWatches == 1, Limit());
        long seen = _cluster.Apply(new FakeSlice("web-9", 8080, [new FakeSliceEndpoint("10.0.0.9", "pod-9")]));
        await watcher.WaitForStatusAsync(s => s.ResourceVersion == seen.ToString(System.Globalization.CultureInfo.InvariantCulture), Limit());

        _cluster.ExpireWatches();
        await watcher.WaitForStatusAsync(s => s.ListCount >= 2 && _cluster.OpenWatches == 1, Limit());

        ListQuery relist = _cluster.ListQueries.ElementAt(1);
        Assert.Equal(seen.ToString(System.Globalization.CultureInfo.InvariantCulture), relist.ResourceVersion);
        Assert.Null(relist.Limit); // a version with a limit would be delegated to etcd
        Assert.True(relist.FromWatchCache);
        Assert.Equal(0, _cluster.EtcdListRequests);
        Assert.Equal(6, watcher.Endpoints.Count);
    }

    [Fact]
    public async Task WatchAheadOfLaggingCache_RelistsThenFallsBackToEtcd_ConvergesWhenCacheCatchesUp()
    {
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        await watcher.WaitForStatusAsync(s => s.Version >= 1 && _cluster.OpenWatches == 1, Limit());

        // The watcher's connection lands on a replica whose cache lags behind what it has already seen.
        _cluster.FreezeWatchCache();
        long ahead = _cluster.Apply(new FakeSlice("web-9", 8080, [new FakeSliceEndpoint("10.0.0.9", "pod-9")]));
        string aheadText = ahead.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await watcher.WaitForStatusAsync(s => s.ResourceVersion == aheadText, Limit());
        _cluster.DropWatches();

        KubernetesWatchStatus refused = await watcher.WaitForStatusAsync(s => _cluster.EtcdListRequests >= 1 && s.LastError?.StatusCode == 504, Limit());
        Assert.Contains("Too large resource version", refused.LastError!.Message, StringComparison.Ordinal);
        ListQuery[] lists = [.. _cluster.ListQueries];
        int fallback = Array.FindIndex(lists, q => !q.FromWatchCache);
        Assert.Equal(aheadText, lists[fallback - 1].ResourceVersion); // first the last version seen, from the cache (504)
        Assert.True(lists[fallback - 1].FromWatchCache);
        Assert.Null(lists[fallback].ResourceVersion);                  // then a consistent read from etcd
        Assert.Equal(2, lists[fallback].Limit);

        _cluster.ResumeWatchCache();
        long after = _cluster.Apply(new FakeSlice("web-10", 8080, [new FakeSliceEndpoint("10.0.0.10", "pod-10")]));
        await watcher.WaitForStatusAsync(s => s.ResourceVersion == after.ToString(System.Globalization.CultureInfo.InvariantCulture), Limit());
        Assert.Equal(7, watcher.Endpoints.Count);
        CancellationToken limit = Limit();
        while (_cluster.OpenWatches != 1)
        {
            await Task.Delay(10, limit); // polls a counter of the fake server: the watch is established again
        }
    }

    [Fact]
    public async Task ContinueTokenExpired_ListsAgainInOnePage()
    {
        _cluster.WatchCachePaginates = true;
        _cluster.ContinueTokensExpire = true;
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        await watcher.SyncOnceAsync(Limit());

        Assert.Equal(5, watcher.Endpoints.Count);
        ListQuery[] lists = [.. _cluster.ListQueries];
        Assert.Equal(3, lists.Length);
        Assert.Equal("c1", lists[1].Continue);
        Assert.Equal("0", lists[2].ResourceVersion);
        Assert.Null(lists[2].Limit);
        Assert.Null(lists[2].Continue);
    }
}
