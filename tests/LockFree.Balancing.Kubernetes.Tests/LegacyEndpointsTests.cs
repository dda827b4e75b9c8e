using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using System.Text;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Slices;
using LockFree.Balancing.Kubernetes.Watch;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests;

/// <summary>The opt-in legacy core/v1 Endpoints mode: parsing subsets, per-subset named ports, and the watcher against the fake server.</summary>
public sealed class LegacyEndpointsTests : IAsyncLifetime
{
    private static readonly ServiceReference Web = ServiceReference.Parse("kubernetes:///web.shop:http");
    private static readonly string HttpOn8080 = Ports("http", 8080);
    private static readonly string HttpOn9000 = Ports("http", 9000);
    private FakeApiServer _server = null!;

    public async Task InitializeAsync() => _server = await FakeApiServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static CancellationToken Limit() => new CancellationTokenSource(TimeSpan.FromSeconds(15)).Token;

    private static string TwoSubsets(string rv) => LegacyEndpoints("web", rv,
        LegacySubset(["10.0.0.1", "10.0.0.2"], ["10.0.0.3"], HttpOn8080),
        LegacySubset(["10.0.1.1"], [], HttpOn9000));

    private KubernetesEndpointWatcher CreateWatcher() => new(Web, _ => { }, new KubernetesWatcherOptions
    {
        ApiServer = _server.BaseAddress,
        UseLegacyEndpoints = true,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(5),
        Random = new Random(5),
    });

    private static string[] Keys(IEnumerable<Endpoint> endpoints) => [.. endpoints.Select(e => e.Key)];

    [Fact]
    public void ParseLegacyList_SubsetsBecomeSlicesWithTheirOwnPorts()
    {
        string body = LegacyList("77", LegacyEndpoints("web", "70",
            LegacySubset(["10.0.0.1", "fd00::1"], ["10.0.0.3"], HttpOn8080),
            LegacySubset(["10.0.1.1"], [], HttpOn9000),
            LegacySubset(["10.0.2.1"], [], Ports("grpc", 7000))));

        EndpointSliceList list = KubernetesJson.ParseLegacyList(Encoding.UTF8.GetBytes(body), new Utf8StringCache());
        var set = new EndpointSliceSet();
        set.ReplaceAll(list.Items);
        MergedEndpoints merged = set.Merge(Web, new MergeSettings(AddressFamilyPreference.PreferIPv4, UseTerminatingWhenNoneReady: false));

        Assert.Equal("77", list.ResourceVersion);
        Assert.Equal(["web/0/IPv4", "web/0/IPv6", "web/1/IPv4", "web/2/IPv4"], list.Items.Select(s => s.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["10.0.0.1:8080", "10.0.1.1:9000"], Keys(merged.Endpoints)); // not-ready and grpc-only subsets left out
        Assert.Equal("node-1", merged.Endpoints[0].NodeName);
    }

    [Fact]
    public void ParseLegacyWatchEvent_DeletedAndError_AreUnderstood()
    {
        WatchEvent deleted = KubernetesJson.ParseLegacyWatchEvent(Encoding.UTF8.GetBytes(Event("DELETED", TwoSubsets("80"))), new Utf8StringCache());
        WatchEvent gone = KubernetesJson.ParseLegacyWatchEvent(Encoding.UTF8.GetBytes(Gone()), new Utf8StringCache());
        WatchEvent noSubsets = KubernetesJson.ParseLegacyWatchEvent(Encoding.UTF8.GetBytes(Event("MODIFIED", LegacyEndpoints("web", "81"))), new Utf8StringCache());

        Assert.Equal(WatchEventType.Deleted, deleted.Type);
        Assert.Empty(deleted.LegacySlices!);
        Assert.Equal("80", deleted.ResourceVersion);
        Assert.True(gone.Status!.IsGone);
        Assert.Empty(noSubsets.LegacySlices!);
    }

    [Fact]
    public void ParseLegacyWatchEvent_InvalidJson_ThrowsInvalidWatchData()
    {
        Assert.Throws<InvalidWatchDataException>(() => KubernetesJson.ParseLegacyWatchEvent("{\"type\":\"MODIFIED\",\"object\":{\"subsets\":[{\"addresses\":7}]}}"u8, new Utf8StringCache()));
    }

    [Fact]
    public async Task Watcher_TruncatedEndpoints_WarnsInStatusAndLog_UntilNoLongerTruncated()
    {
        string[] thousand = [.. Enumerable.Range(0, 1000).Select(i => $"10.1.{i / 250}.{i % 250}")];
        _server.SetLegacyEndpoints("100", LegacyEndpointsOverCapacity("web", "90", "truncated", LegacySubset(thousand, [], HttpOn8080)));
        using var logs = new FakeLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, new KubernetesWatcherOptions
        {
            ApiServer = _server.BaseAddress,
            UseLegacyEndpoints = true,
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            MaxBackoff = TimeSpan.FromMilliseconds(50),
            RequestTimeout = TimeSpan.FromSeconds(5),
            LoggerFactory = factory,
            Random = new Random(5),
        });

        watcher.StartBackgroundSync();
        WatchConnection watch = await _server.NextWatchAsync();
        KubernetesWatchStatus truncated = await watcher.WaitForVersionAsync(1, Limit());
        Assert.Equal(1000, watcher.Endpoints.Count);
        watch.Send(Event("MODIFIED", LegacyEndpoints("web", "101", LegacySubset(["10.0.0.1"], [], HttpOn8080))));
        KubernetesWatchStatus scaledDown = await watcher.WaitForVersionAsync(2, Limit());

        Assert.Contains("over-capacity=truncated", truncated.Warning, StringComparison.Ordinal);
        Assert.Contains("only 1000", truncated.Warning, StringComparison.Ordinal);
        Assert.Contains("EndpointSlices", truncated.Warning, StringComparison.Ordinal);
        Assert.Null(scaledDown.Warning);
        Assert.Contains(logs.Collector.GetSnapshot(), e => e.Id.Id == 116 && e.Message.Contains("truncated", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Watcher_LegacyMode_ListsAndWatchesTheEndpointsObject()
    {
        _server.SetLegacyEndpoints("100", TwoSubsets("90"));
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        watcher.StartBackgroundSync();
        WatchConnection watch = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());
        string[] listed = Keys(watcher.Endpoints);
        watch.Send(Event("MODIFIED", LegacyEndpoints("web", "101", LegacySubset(["10.0.0.1"], ["10.0.0.2"], HttpOn8080))));
        await watcher.WaitForVersionAsync(2, Limit());
        string[] modified = Keys(watcher.Endpoints);
        watch.Send(Event("DELETED", LegacyEndpoints("web", "102")));
        KubernetesWatchStatus deleted = await watcher.WaitForVersionAsync(3, Limit());

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.1.1:9000"], listed);
        Assert.Equal(["10.0.0.1:8080"], modified);
        Assert.Empty(watcher.Endpoints);
        Assert.Equal("102", deleted.ResourceVersion);
        Assert.Equal("100", watch.ResourceVersion);
        Assert.Equal("metadata.name=web", watch.Query["fieldSelector"]);
        Assert.All(_server.Requests, r => Assert.StartsWith("/api/v1/namespaces/shop/endpoints?", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Watcher_LegacyModeForbidden_NamesCoreEndpointsResource()
    {
        _server.FailNextList(403, Status(403, "Forbidden", "endpoints is forbidden"));
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        var exception = await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));

        Assert.Equal(403, exception.StatusCode);
        Assert.Contains("may not 'list' endpoints (core API group) in namespace 'shop'", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_LegacyWithStreamingList_AreRefused()
    {
        var options = new KubernetesWatcherOptions { UseLegacyEndpoints = true, UseStreamingList = true };

        var exception = Assert.Throws<ArgumentException>(() => new KubernetesEndpointWatcher(Web, _ => { }, options));

        Assert.Contains("choose one", exception.Message, StringComparison.Ordinal);
    }
}
