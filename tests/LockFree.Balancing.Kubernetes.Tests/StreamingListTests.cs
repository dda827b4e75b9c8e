using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests;

/// <summary>The opt-in streaming list (<c>sendInitialEvents=true</c>) and its fallback to LIST + WATCH, against the fake server.</summary>
public sealed class StreamingListTests : IAsyncLifetime
{
    private static readonly ServiceReference Web = ServiceReference.Parse("kubernetes:///web.shop:http");
    private FakeApiServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeApiServer.StartAsync();
        _server.SetList("100",
            Slice("web-a", "90", "IPv4", HttpPort(8080), Endpoint("10.0.0.1"), Endpoint("10.0.0.2")),
            Slice("web-b", "91", "IPv4", HttpPort(9000), Endpoint("10.0.1.1")));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static CancellationToken Limit() => new CancellationTokenSource(TimeSpan.FromSeconds(15)).Token;

    private KubernetesEndpointWatcher CreateWatcher(TimeSpan? requestTimeout = null) => new(Web, _ => { }, new KubernetesWatcherOptions
    {
        ApiServer = _server.BaseAddress,
        UseStreamingList = true,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(50),
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(5),
        IdleTimeout = TimeSpan.FromSeconds(30),
        Random = new Random(3),
    });

    private static string[] Keys(KubernetesEndpointWatcher watcher) => [.. watcher.Endpoints.Select(e => e.Key)];

    [Fact]
    public async Task StreamingList_Supported_StateFromInitialEventsThenSameStreamWatches()
    {
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        watcher.StartBackgroundSync();
        WatchConnection watch = await _server.NextWatchAsync();
        KubernetesWatchStatus synced = await watcher.WaitForVersionAsync(1, Limit());
        watch.Send(Event("MODIFIED", Slice("web-b", "101", "IPv4", HttpPort(9000), Endpoint("10.0.1.1"), Endpoint("10.0.1.2"))));
        await watcher.WaitForVersionAsync(2, Limit());

        Assert.Equal("true", watch.Query["sendInitialEvents"]);
        Assert.Equal("NotOlderThan", watch.Query["resourceVersionMatch"]);
        Assert.Equal("true", watch.Query["allowWatchBookmarks"]);
        Assert.Null(watch.ResourceVersion);
        Assert.Equal(0, _server.CountRequests("limit="));
        Assert.Equal("100", synced.ResourceVersion);
        Assert.Equal(1, synced.ListCount);
        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.1.1:9000", "10.0.1.2:9000"], Keys(watcher));
        Assert.False(watcher.StreamingListFellBack);
    }

    [Fact]
    public async Task StreamingList_GoneAfterwards_StreamsAgainAndReplacesState()
    {
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        _server.SetList("200", Slice("web-b", "150", "IPv4", HttpPort(9000), Endpoint("10.0.1.9")));
        first.Send(Gone());
        WatchConnection second = await _server.NextWatchAsync();
        KubernetesWatchStatus replaced = await watcher.WaitForStatusAsync(s => s.ResourceVersion == "200", Limit());

        Assert.Equal("true", second.Query["sendInitialEvents"]);
        Assert.Equal(["10.0.1.9:9000"], Keys(watcher)); // web-a is gone: the initial events replaced the state
        Assert.Equal(2, replaced.ListCount);
        Assert.Equal(0, _server.CountRequests("limit="));
    }

    [Theory]
    [InlineData(StreamingListSupport.Rejected422, 422)]
    [InlineData(StreamingListSupport.Rejected400, 400)]
    public async Task StreamingList_Rejected_FallsBackToListAndWatchAtOnce(StreamingListSupport support, int code)
    {
        _server.StreamingList = support;
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        watcher.StartBackgroundSync();
        WatchConnection watch = await _server.NextWatchAsync();
        KubernetesWatchStatus status = await watcher.WaitForVersionAsync(1, Limit());

        Assert.Equal("100", watch.ResourceVersion); // an ordinary watch from the LIST's resourceVersion
        Assert.Equal(1, _server.CountRequests("sendInitialEvents=true"));
        Assert.Equal(1, _server.CountRequests("limit="));
        Assert.True(watcher.StreamingListFellBack);
        Assert.Equal(code, status.LastError!.StatusCode);
        Assert.Contains("does not accept streaming lists; using LIST + WATCH", status.LastError.Message, StringComparison.Ordinal);
        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.1.1:9000"], Keys(watcher));
    }

    [Fact]
    public async Task StreamingList_ServerNeverSendsInitialEventsEnd_NothingPublishedThenFallsBackAfterTwoTries()
    {
        _server.StreamingList = StreamingListSupport.IgnoresParameter;
        await using KubernetesEndpointWatcher watcher = CreateWatcher(requestTimeout: TimeSpan.FromMilliseconds(500));

        watcher.StartBackgroundSync();
        KubernetesWatchStatus incomplete = await watcher.WaitForStatusAsync(s => s.LastError is not null, Limit());
        long versionAfterFirstTry = watcher.Status.Version;
        KubernetesWatchStatus synced = await watcher.WaitForVersionAsync(1, Limit());
        WatchConnection ordinary = await NextOrdinaryWatchAsync();

        Assert.Equal(0, versionAfterFirstTry); // the ADDED events of an unfinished streaming list are never applied
        Assert.Contains("no initial-events-end bookmark within 0.5 s", incomplete.LastError!.Message, StringComparison.Ordinal);
        Assert.Equal(KubernetesEndpointWatcher.MaxIncompleteStreamingLists, _server.CountRequests("sendInitialEvents=true"));
        Assert.True(watcher.StreamingListFellBack);
        Assert.Equal("100", ordinary.ResourceVersion);
        Assert.Equal("100", synced.ResourceVersion);
        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.1.1:9000"], Keys(watcher));
    }

    [Fact]
    public async Task StreamingList_EndsBeforeInitialEventsEndTwice_FallsBackWithoutApplyingHalfAList()
    {
        _server.StreamingList = StreamingListSupport.IgnoresParameter;
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        first.End();
        WatchConnection second = await _server.NextWatchAsync();
        long versionBeforeFallback = watcher.Status.Version;
        second.End();
        WatchConnection ordinary = await NextOrdinaryWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        Assert.Equal(0, versionBeforeFallback);
        Assert.Equal("true", second.Query["sendInitialEvents"]);
        Assert.Equal("100", ordinary.ResourceVersion);
        Assert.True(watcher.StreamingListFellBack);
        Assert.Equal(1, _server.CountRequests("limit="));
        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.1.1:9000"], Keys(watcher));
    }

    private async Task<WatchConnection> NextOrdinaryWatchAsync()
    {
        while (true)
        {
            WatchConnection watch = await _server.NextWatchAsync();
            if (watch.ResourceVersion is not null)
            {
                return watch;
            }
        }
    }
}
