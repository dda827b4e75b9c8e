using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests;

/// <summary>The watcher against a real HTTP server (Kestrel on 127.0.0.1:0). Every wait has a timeout; nothing sleeps.</summary>
public sealed class KubernetesEndpointWatcherTests : IAsyncLifetime
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);
    private static readonly ServiceReference Web = ServiceReference.Parse("kubernetes:///web.shop:http");

    private FakeApiServer _server = null!;
    private readonly List<IReadOnlyList<Endpoint>> _published = [];

    public async Task InitializeAsync() => _server = await FakeApiServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    // Slices: "web-a" (IPv4, http=8080), "web-b" (IPv4, http=9000: the named port differs per slice),
    // "web-v6" (the same pods over IPv6), "web-c" (no http port at all), "web-fqdn" (DNS names).
    private static string SliceA(string rv, params string[] endpoints) => Slice("web-a", rv, "IPv4", HttpPort(8080), endpoints);

    private static string SliceB(string rv, params string[] endpoints) => Slice("web-b", rv, "IPv4", HttpPort(9000), endpoints);

    private static string SliceV6(string rv) => Slice("web-v6", rv, "IPv6", HttpPort(8080), Endpoint("fd00::1"), Endpoint("fd00::2"));

    private static string SliceC(string rv) => Slice("web-c", rv, "IPv4", Ports("grpc", 7000), Endpoint("10.0.9.9"));

    private void SetDefaultList(string rv = "100") => _server.SetList(rv,
        SliceA("90", Endpoint("10.0.0.1"), Endpoint("10.0.0.2", conditions: """{"ready":null,"serving":null,"terminating":null}"""), Endpoint("10.0.0.3", conditions: """{"ready":false,"serving":true,"terminating":true}""")),
        SliceB("91", Endpoint("10.0.1.1", zone: "zone-b", node: "node-7", hints: """{"forZones":[{"name":"zone-b"}]}"""), Endpoint("10.0.0.1")),
        SliceV6("92"),
        SliceC("93"),
        Slice("web-fqdn", "94", "FQDN", HttpPort(8080), Endpoint("web-0.web.shop.svc.cluster.local"))); // ignored: IPv4 slices exist

    private static readonly string[] DefaultKeys = ["10.0.0.1:8080", "10.0.0.1:9000", "10.0.0.2:8080", "10.0.1.1:9000"];

    private KubernetesEndpointWatcher CreateWatcher(Action<KubernetesWatcherOptions>? configure = null)
    {
        var options = new KubernetesWatcherOptions
        {
            ApiServer = _server.BaseAddress,
            ListPageSize = 2,
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            MaxBackoff = TimeSpan.FromMilliseconds(100),
            RequestTimeout = TimeSpan.FromSeconds(5),
            IdleTimeout = TimeSpan.FromSeconds(5),
            WatchTimeout = TimeSpan.FromSeconds(60),
            Random = new Random(1),
        };
        configure?.Invoke(options);
        return new KubernetesEndpointWatcher(Web, endpoints =>
        {
            lock (_published)
            {
                _published.Add(endpoints);
            }
        }, options);
    }

    private static string[] Keys(KubernetesEndpointWatcher watcher) => [.. watcher.Endpoints.Select(e => e.Key)];

    private static CancellationToken Limit() => new CancellationTokenSource(WaitLimit).Token;

    private static Task<KubernetesWatchStatus> WaitAsync(KubernetesEndpointWatcher watcher, Func<KubernetesWatchStatus, bool> predicate)
        => watcher.WaitForStatusAsync(predicate, Limit());

    [Fact]
    public async Task SyncOnceAsync_SeveralPages_PublishesMergedSet()
    {
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        await watcher.SyncOnceAsync(Limit());

        Assert.Equal(DefaultKeys, Keys(watcher));
        Assert.Single(_published);
        KubernetesWatchStatus status = watcher.Status;
        Assert.False(status.IsStale);
        Assert.Equal("100", status.ResourceVersion);
        Assert.Equal(1, status.Version);
        Assert.NotNull(status.LastSyncTime);
        Assert.Equal(3, _server.CountRequests("limit=2"));
        Assert.Equal(1, _server.CountRequests("continue=c2"));
        Assert.Equal(1, _server.CountRequests("continue=c4"));
        Endpoint b = watcher.Endpoints.Single(e => e.Key == "10.0.1.1:9000");
        Assert.Equal("zone-b", b.Zone);
        Assert.Equal("node-7", b.NodeName);
        Assert.Equal(["zone-b"], b.ZoneHints);
        Assert.Empty(b.NodeHints);
    }

    [Fact]
    public async Task SyncOnceAsync_Forbidden_ThrowsAndRecordsHelpfulError()
    {
        _server.FailNextList(403, Status(403, "Forbidden", "endpointslices.discovery.k8s.io is forbidden: User system:serviceaccount:shop:app cannot list resource"));
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        var exception = await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));

        Assert.Equal(403, exception.StatusCode);
        SyncError error = watcher.Status.LastError!;
        Assert.Equal(403, error.StatusCode);
        Assert.Equal("Forbidden", error.Reason);
        Assert.Contains("cannot list resource", error.Message, StringComparison.Ordinal);
        Assert.Contains("'list'", error.Message, StringComparison.Ordinal);
        Assert.Contains("endpointslices.discovery.k8s.io", error.Message, StringComparison.Ordinal);
        Assert.Contains("namespace 'shop'", error.Message, StringComparison.Ordinal);
        Assert.Contains("/namespaces/shop/endpointslices", error.Url.AbsoluteUri, StringComparison.Ordinal);
        Assert.True(watcher.Status.IsStale);
        Assert.Empty(watcher.Endpoints);
    }

    [Fact]
    public async Task SyncOnceAsync_EmptyService_PublishesEmptySet()
    {
        _server.SetList("5");
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        await watcher.SyncOnceAsync(Limit());

        Assert.Empty(Assert.Single(_published));
        Assert.Equal(1, watcher.Status.Version);
    }

    [Fact]
    public async Task BearerToken_IsSentOnEveryRequest()
    {
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher(o => o.BearerToken = "s3cr3t");

        await watcher.SyncOnceAsync(Limit());

        Assert.All(_server.Authorizations, header => Assert.Equal("Bearer s3cr3t", header));
    }

    [Fact]
    public async Task StartBackgroundSync_WatchEvents_ConvergeToExactSet()
    {
        SetDefaultList();
        var balancer = new RoundRobinBalancer();
        await using var watcher = new KubernetesEndpointWatcher(Web, balancer, new KubernetesWatcherOptions
        {
            ApiServer = _server.BaseAddress,
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            MaxBackoff = TimeSpan.FromMilliseconds(100),
            Random = new Random(1),
        });
        watcher.StartBackgroundSync();
        WatchConnection watch = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        Assert.Equal("100", watch.ResourceVersion);
        Assert.Equal("true", watch.Query["allowWatchBookmarks"]);
        Assert.Equal("290", watch.Query["timeoutSeconds"]);
        Assert.Equal(DefaultKeys, balancer.Endpoints.Select(e => e.Key));

        // A new slice arrives, split into one-byte chunks (inside its UTF-8 characters too).
        watch.SendByteByByte(Event("ADDED", Slice("web-d", "101", "IPv4", HttpPort(8081), Endpoint("10.0.2.1"))));
        await watcher.WaitForVersionAsync(2, Limit());
        Assert.Contains("10.0.2.1:8081", Keys(watcher));

        // web-a is modified (CRLF line end): 10.0.0.2 becomes not ready.
        watch.Send(Event("MODIFIED", SliceA("102", Endpoint("10.0.0.1"), Endpoint("10.0.0.2", conditions: """{"ready":false}"""))), "\r\n");
        await watcher.WaitForVersionAsync(3, Limit());
        Assert.DoesNotContain("10.0.0.2:8080", Keys(watcher));

        // web-b is deleted: only its own endpoints go; 10.0.0.1:8080 (from web-a) stays.
        watch.Send(Event("DELETED", SliceB("103")));
        KubernetesWatchStatus status = await watcher.WaitForVersionAsync(4, Limit());
        Assert.Equal(["10.0.0.1:8080", "10.0.2.1:8081"], Keys(watcher));
        Assert.Equal(Keys(watcher), balancer.Endpoints.Select(e => e.Key));
        Assert.Equal("103", status.ResourceVersion);
        Assert.False(status.IsStale);
    }

    [Fact]
    public async Task Watch_EventThatChangesNothing_DoesNotPublish()
    {
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        WatchConnection watch = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        watch.Send(Event("MODIFIED", SliceC("150"))); // web-c has no http port: nothing changes
        await WaitAsync(watcher, s => s.ResourceVersion == "150");

        Assert.Equal(1, watcher.Status.Version);
        Assert.Single(_published);
    }

    [Fact]
    public async Task Bookmark_MovesResourceVersionOnly_NextWatchResumesThere()
    {
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        first.Send(Bookmark("900"));
        await WaitAsync(watcher, s => s.ResourceVersion == "900");
        first.End(); // the server's timeoutSeconds elapsed
        WatchConnection second = await _server.NextWatchAsync();

        Assert.Equal("900", second.ResourceVersion);
        Assert.Equal(1, watcher.Status.Version);
        Assert.Equal(1, watcher.Status.ListCount);
    }

    [Fact]
    public async Task InStreamGone_Relists_AndReplacesState()
    {
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        // While we were away web-b and web-a disappeared and web-e appeared.
        _server.SetList("500", Slice("web-e", "499", "IPv4", HttpPort(8080), Endpoint("10.0.5.5")));
        first.Send(Gone(reason: "Expired"));
        WatchConnection second = await _server.NextWatchAsync();
        KubernetesWatchStatus status = await watcher.WaitForVersionAsync(2, Limit());

        Assert.Equal(["10.0.5.5:8080"], Keys(watcher));
        Assert.Equal("500", second.ResourceVersion);
        Assert.Equal(2, status.ListCount);
        Assert.Equal(410, status.LastError!.StatusCode);
        Assert.Equal("Expired", status.LastError.Reason);
    }

    [Fact]
    public async Task HttpGoneOnWatch_Relists()
    {
        SetDefaultList();
        _server.FailNextWatch(410, Status(410, "Gone", "too old resource version: 1 (2)"));
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();

        WatchConnection watch = await _server.NextWatchAsync();
        KubernetesWatchStatus status = await WaitAsync(watcher, s => s.ListCount == 2);

        Assert.Equal("100", watch.ResourceVersion);
        Assert.Equal(410, status.LastError!.StatusCode);
        Assert.Equal(DefaultKeys, Keys(watcher));
        Assert.Equal(1, status.Version); // the relist found the same set: nothing republished
    }

    [Fact]
    public async Task ServerError_KeepsLastGoodSet_RecordsError_ThenRecovers()
    {
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        _server.FailNextWatch(500, Status(500, "InternalError", "etcdserver: leader changed"));
        _server.FailNextWatch(500, Status(500, "InternalError", "etcdserver: leader changed"));
        first.End();
        KubernetesWatchStatus failing = await WaitAsync(watcher, s => s.ConsecutiveFailures >= 2);

        Assert.True(failing.IsStale);
        Assert.Equal(500, failing.LastError!.StatusCode);
        Assert.Contains("leader changed", failing.LastError.Message, StringComparison.Ordinal);
        Assert.Equal(DefaultKeys, Keys(watcher));

        WatchConnection recovered = await _server.NextWatchAsync();
        KubernetesWatchStatus status = await WaitAsync(watcher, s => !s.IsStale);
        Assert.Equal("100", recovered.ResourceVersion);
        Assert.Equal(1, status.ListCount);
        Assert.Equal(DefaultKeys, Keys(watcher));
    }

    [Fact]
    public async Task ListFailsRepeatedly_RetriesWithBackoffUntilItWorks()
    {
        SetDefaultList();
        _server.FailNextList(500, "not json at all");
        _server.FailNextList(429, Status(429, "TooManyRequests", "slow down"));
        _server.FailNextList(503);
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();

        KubernetesWatchStatus status = await watcher.WaitForVersionAsync(1, Limit());

        Assert.Equal(DefaultKeys, Keys(watcher));
        Assert.Equal(503, status.LastError!.StatusCode);
        Assert.False(status.IsStale);
        Assert.Equal(0, status.ConsecutiveFailures);
    }

    [Fact]
    public async Task ConnectionCutMidEvent_ReconnectsFromLastResourceVersion()
    {
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        first.Send(Event("ADDED", Slice("web-d", "120", "IPv4", HttpPort(8081), Endpoint("10.0.2.1"))));
        await watcher.WaitForVersionAsync(2, Limit());
        string half = Event("ADDED", Slice("web-f", "121", "IPv4", HttpPort(8081), Endpoint("10.0.2.2")));
        first.SendRaw(Utf8(half[..(half.Length / 2)]));
        first.Abort();
        WatchConnection second = await _server.NextWatchAsync();

        Assert.Equal("120", second.ResourceVersion);
        KubernetesWatchStatus status = await WaitAsync(watcher, s => s.LastError is not null);
        Assert.Null(status.LastError!.StatusCode);
        Assert.Equal(1, status.ListCount);
        Assert.DoesNotContain("10.0.2.2:8081", Keys(watcher));

        second.Send(half);
        await watcher.WaitForVersionAsync(3, Limit());
        Assert.Contains("10.0.2.2:8081", Keys(watcher));
    }

    [Fact]
    public async Task SilentStream_IsTreatedAsDead_AndReconnected()
    {
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher(o => o.IdleTimeout = TimeSpan.FromMilliseconds(300));
        watcher.StartBackgroundSync();
        await _server.NextWatchAsync(); // connects, then says nothing

        WatchConnection second = await _server.NextWatchAsync();
        KubernetesWatchStatus status = await WaitAsync(watcher, s => s.LastError is not null);

        Assert.Contains("silent", status.LastError!.Message, StringComparison.Ordinal);
        Assert.Equal("100", second.ResourceVersion);
        Assert.Equal(DefaultKeys, Keys(watcher));
    }

    [Fact]
    public async Task WatchWithoutHeaders_TimesOut_AndRetries()
    {
        SetDefaultList();
        _server.HangNextWatchHeaders();
        await using KubernetesEndpointWatcher watcher = CreateWatcher(o => o.RequestTimeout = TimeSpan.FromMilliseconds(300));
        watcher.StartBackgroundSync();

        WatchConnection watch = await _server.NextWatchAsync();
        KubernetesWatchStatus status = await WaitAsync(watcher, s => s.LastError is not null);

        Assert.Contains("did not answer", status.LastError!.Message, StringComparison.Ordinal);
        Assert.Equal("100", watch.ResourceVersion);
    }

    [Fact]
    public async Task OversizeEvent_AbandonsStream_AndRelists()
    {
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher(o => o.MaxEventBytes = 64 * 1024);
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        first.Send(Event("MODIFIED", Slice("web-a", "130", "IPv4", HttpPort(8080), padding: 1_000_000, Endpoint("10.0.0.1"))));
        KubernetesWatchStatus status = await WaitAsync(watcher, s => s.ListCount == 2);

        Assert.Contains("larger than the configured limit of 65536 bytes", status.LastError!.Message, StringComparison.Ordinal);
        Assert.Equal(DefaultKeys, Keys(watcher));
        await _server.NextWatchAsync();
    }

    [Fact]
    public async Task InvalidJsonInStream_Relists()
    {
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        first.Send("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\"},\"endpoints\":[{]}}");
        KubernetesWatchStatus status = await WaitAsync(watcher, s => s.ListCount == 2);

        Assert.Contains("not a valid event", status.LastError!.Message, StringComparison.Ordinal);
        Assert.Equal(DefaultKeys, Keys(watcher));
    }

    [Fact]
    public async Task InStreamErrorOtherThanGone_ReconnectsFromLastResourceVersionWithoutRelist()
    {
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        first.Send(Bookmark("300"));
        first.Send("{\"type\":\"ERROR\",\"object\":" + Status(500, "InternalError", "etcd timeout") + "}");
        WatchConnection second = await _server.NextWatchAsync();
        KubernetesWatchStatus status = await WaitAsync(watcher, s => s.LastError is not null);

        Assert.Equal("300", second.ResourceVersion);
        Assert.Equal(500, status.LastError!.StatusCode);
        Assert.Contains("etcd timeout", status.LastError.Message, StringComparison.Ordinal);
        Assert.Equal(1, status.ListCount);
    }

    [Fact]
    public async Task GoneAgainAfterRelist_BacksOffAndStillConverges()
    {
        SetDefaultList();
        _server.FailNextWatch(410, Status(410, "Gone", "too old"));
        _server.FailNextWatch(410, Status(410, "Expired", "too old again"));
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();

        WatchConnection watch = await _server.NextWatchAsync();
        KubernetesWatchStatus status = await WaitAsync(watcher, s => s.ListCount == 3);

        Assert.Equal("100", watch.ResourceVersion);
        Assert.Equal(DefaultKeys, Keys(watcher));
        Assert.Equal("Expired", status.LastError!.Reason);
    }

    [Fact]
    public async Task WatchEndingAtOnceWithoutEvents_IsRetriedWithBackoff()
    {
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        (await _server.NextWatchAsync()).End();
        (await _server.NextWatchAsync()).End();

        KubernetesWatchStatus status = await WaitAsync(watcher, s => s.ConsecutiveFailures >= 2);
        WatchConnection third = await _server.NextWatchAsync();
        third.Send(Event("MODIFIED", Slice("web-a", "101", "IPv4", HttpPort(8080), Endpoint("10.0.0.1"))));
        third.End();
        await WaitAsync(watcher, s => s.ConsecutiveFailures == 0);

        Assert.Null(status.LastError);
        Assert.Equal("101", (await _server.NextWatchAsync()).ResourceVersion);
    }

    [Fact]
    public async Task TooManyRequests_HonoursRetryAfter()
    {
        SetDefaultList();
        _server.FailNextList(429, Status(429, "TooManyRequests", "slow down"), retryAfter: "1");
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        watcher.StartBackgroundSync();

        KubernetesWatchStatus status = await watcher.WaitForVersionAsync(1, Limit());

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(900), $"retried after {clock.Elapsed}, before the server's Retry-After of 1 s");
        Assert.Equal(429, status.LastError!.StatusCode);
        Assert.Contains("slow down", status.LastError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResyncInterval_RelistsBetweenHealthyWatches()
    {
        SetDefaultList();
        var clock = new ShiftableTimeProvider();
        await using KubernetesEndpointWatcher watcher = CreateWatcher(o =>
        {
            o.ResyncInterval = TimeSpan.FromMinutes(30);
            o.TimeProvider = clock;
        });
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());
        clock.Advance(TimeSpan.FromMinutes(34)); // past 30 min + 10 % jitter

        _server.SetList("700", SliceA("699", Endpoint("10.0.0.1")));
        first.Send(Bookmark("150"));
        first.End();
        WatchConnection second = await _server.NextWatchAsync();
        KubernetesWatchStatus status = await watcher.WaitForVersionAsync(2, Limit());

        Assert.Equal("700", second.ResourceVersion);
        Assert.Equal(2, status.ListCount);
        Assert.Equal(["10.0.0.1:8080"], Keys(watcher));
        Assert.Null(status.LastError);
    }

    [Fact]
    public async Task Unauthorized_UntilTokenFileRotates_ThenConverges()
    {
        SetDefaultList();
        string tokenFile = Path.Combine(Path.GetTempPath(), "lockfree-token-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(tokenFile, "expired-token");
        _server.RequiredToken = "fresh-token";
        try
        {
            await using KubernetesEndpointWatcher watcher = CreateWatcher(o => o.BearerTokenFile = tokenFile);
            watcher.StartBackgroundSync();

            KubernetesWatchStatus failing = await WaitAsync(watcher, s => s.LastError?.StatusCode == 401);
            Assert.Contains("unauthorized", failing.LastError!.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("expired-token", failing.LastError.Message, StringComparison.Ordinal);
            Assert.Empty(watcher.Endpoints);

            await File.WriteAllTextAsync(tokenFile, "fresh-token\n"); // the kubelet rotates the projected token
            await watcher.WaitForVersionAsync(1, Limit());

            Assert.Equal(DefaultKeys, Keys(watcher));
            Assert.Equal("Bearer fresh-token", _server.Authorizations.Last());
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }

    [Fact]
    public void Constructor_TokenAndTokenFile_Throws()
    {
        Assert.Throws<ArgumentException>(() => new KubernetesEndpointWatcher(Web, _ => { }, new KubernetesWatcherOptions { BearerToken = "a", BearerTokenFile = "/tmp/t" }));
    }

    [Fact]
    public async Task AllSlicesDeleted_PublishesEmptySet()
    {
        _server.SetList("10", SliceA("9", Endpoint("10.0.0.1")));
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        WatchConnection watch = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        watch.Send(Event("DELETED", SliceA("11")));
        await watcher.WaitForVersionAsync(2, Limit());

        Assert.Empty(watcher.Endpoints);
        Assert.Empty(_published[^1]);
    }

    [Fact]
    public async Task OnlyIPv6Slices_FallBackToIPv6()
    {
        _server.SetList("10", SliceV6("9"));
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        await watcher.SyncOnceAsync(Limit());

        Assert.Equal(["[fd00::1]:8080", "[fd00::2]:8080"], Keys(watcher));
    }

    [Fact]
    public async Task TerminatingFallback_Opted_In_UsesServingTerminating()
    {
        _server.SetList("10", SliceA("9",
            Endpoint("10.0.0.1", conditions: """{"ready":false,"serving":true,"terminating":true}"""),
            Endpoint("10.0.0.2", conditions: """{"ready":false,"serving":false,"terminating":true}""")));
        await using KubernetesEndpointWatcher watcher = CreateWatcher(o => o.UseTerminatingEndpointsWhenNoneReady = true);

        await watcher.SyncOnceAsync(Limit());

        Assert.Equal(["10.0.0.1:8080"], Keys(watcher));
    }

    [Fact]
    public async Task SubscriberThrows_IsRecordedAsStale_AndLoopKeepsRetrying()
    {
        SetDefaultList();
        int calls = 0;
        await using var watcher = new KubernetesEndpointWatcher(Web, _ =>
        {
            Interlocked.Increment(ref calls);
            throw new InvalidOperationException("subscriber bug");
        }, new KubernetesWatcherOptions { ApiServer = _server.BaseAddress, Random = new Random(1) });
        watcher.StartBackgroundSync();
        WatchConnection watch = await _server.NextWatchAsync();
        KubernetesWatchStatus failed = await watcher.WaitForStatusAsync(s => s.LastError is not null, Limit());

        Assert.Contains("subscriber bug", failed.LastError!.Message, StringComparison.Ordinal);
        Assert.True(failed.IsStale);
        Assert.Equal(0, failed.Version);
        Assert.Empty(watcher.Endpoints);

        watch.Send(Event("ADDED", Slice("web-d", "101", "IPv4", HttpPort(8081), Endpoint("10.0.2.1"))));
        await watcher.WaitForStatusAsync(_ => Volatile.Read(ref calls) >= 2, Limit());
        Assert.True(watcher.Status.IsStale);
    }

    [Fact]
    public async Task SubscriberThrowsOnce_SetIsDeliveredOnTheNextEvent_EvenABookmark()
    {
        // The set the subscriber rejected must not be lost: before, Endpoints already held it, so nothing was
        // ever sent again until the Service itself changed, while the status said all was well.
        SetDefaultList();
        int calls = 0;
        IReadOnlyList<Endpoint>? received = null;
        await using var watcher = new KubernetesEndpointWatcher(Web, endpoints =>
        {
            // Rejects the LIST's set and the retry before the watch opens; accepts the next attempt.
            if (Interlocked.Increment(ref calls) <= 2)
            {
                throw new InvalidOperationException("transient");
            }

            Volatile.Write(ref received, endpoints);
        }, new KubernetesWatcherOptions { ApiServer = _server.BaseAddress, Random = new Random(1) });
        watcher.StartBackgroundSync();
        WatchConnection watch = await _server.NextWatchAsync();
        await watcher.WaitForStatusAsync(s => s.IsStale && s.LastError is not null, Limit());
        Assert.Equal(2, Volatile.Read(ref calls));
        Assert.Equal(0, watcher.Status.Version);

        watch.Send(Bookmark("200"));
        KubernetesWatchStatus delivered = await watcher.WaitForVersionAsync(1, Limit());

        Assert.NotNull(Volatile.Read(ref received));
        Assert.Equal(watcher.Endpoints, Volatile.Read(ref received));
        Assert.NotEmpty(watcher.Endpoints);
        Assert.False(delivered.IsStale);
    }

    [Fact]
    public async Task WatchEndingAfterOnlyABookmark_IsNotHealthy_AndBacksOff()
    {
        // A server (or proxy) that sends a bookmark and hangs up every time must not be reconnected to in a hot
        // loop: each such watch counts as a failure and the delay grows.
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();

        for (int i = 0; i < 4; i++)
        {
            WatchConnection watch = await _server.NextWatchAsync();
            watch.Send(Bookmark("100"));
            watch.End();
        }

        KubernetesWatchStatus status = await watcher.WaitForStatusAsync(s => s.ConsecutiveFailures >= 3, Limit());
        Assert.True(status.ConsecutiveFailures >= 3);
    }

    [Fact]
    public async Task HttpGoneOnEveryWatch_RelistsWithGrowingBackoff()
    {
        // Every watch answers 410, every LIST succeeds: the failure count must keep growing (and with it the
        // delay), not restart at 1 after each successful LIST.
        SetDefaultList();
        for (int i = 0; i < 50; i++)
        {
            _server.FailNextWatch(410, Status(410, "Gone", "too old resource version"));
        }

        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();

        KubernetesWatchStatus status = await watcher.WaitForStatusAsync(_ => watcher.RelistsInARow >= 4, Limit());
        Assert.True(status.ListCount >= 4);
        Assert.Equal(410, status.LastError!.StatusCode);
    }

    [Fact]
    public async Task NotFound_ApiGroupMissing_SaysKubernetesTooOld()
    {
        _server.ServesDiscoveryApi = false;
        _server.FailNextList(404, Status(404, "NotFound", "the server could not find the requested resource"));
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        var exception = await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));

        Assert.Equal(404, exception.StatusCode);
        Assert.Contains("does not serve discovery.k8s.io/v1", exception.Message, StringComparison.Ordinal);
        Assert.Contains("1.21", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotFound_ApiGroupPresent_PointsAtUrlAndNamespace()
    {
        _server.FailNextList(404, Status(404, "NotFound", "the server could not find the requested resource"));
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        var exception = await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));

        Assert.Contains("namespace 'shop'", exception.Message, StringComparison.Ordinal);
        Assert.Contains("path prefix", exception.Message, StringComparison.Ordinal);
        Assert.Contains("could not find the requested resource", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiServerDown_RecordsConnectionError_AndKeepsRetrying()
    {
        await using KubernetesEndpointWatcher watcher = CreateWatcher(o => o.ApiServer = new Uri("http://127.0.0.1:1/"));
        watcher.StartBackgroundSync();

        KubernetesWatchStatus status = await WaitAsync(watcher, s => s.ConsecutiveFailures >= 3);

        Assert.Null(status.LastError!.StatusCode);
        Assert.True(status.IsStale);
        Assert.Empty(watcher.Endpoints);
    }

    [Fact]
    public async Task DisposeAsync_WhileWatching_EndsPromptly()
    {
        SetDefaultList();
        KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();
        await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        await watcher.DisposeAsync().AsTask().WaitAsync(WaitLimit);
        await watcher.DisposeAsync(); // idempotent

        Assert.Throws<ObjectDisposedException>(watcher.StartBackgroundSync);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => watcher.SyncOnceAsync());
    }

    [Fact]
    public async Task SyncOnceAsync_WhileBackgroundRuns_Throws()
    {
        SetDefaultList();
        await using KubernetesEndpointWatcher watcher = CreateWatcher();
        watcher.StartBackgroundSync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => watcher.SyncOnceAsync());
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        Assert.Throws<ArgumentException>(() => new KubernetesEndpointWatcher(Web, _ => { }, new KubernetesWatcherOptions { ApiServer = new Uri("ftp://x/") }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KubernetesEndpointWatcher(Web, _ => { }, new KubernetesWatcherOptions { IdleTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentException>(() => new KubernetesEndpointWatcher(Web, _ => { }, new KubernetesWatcherOptions { MaxBackoff = TimeSpan.FromMilliseconds(1) }));
    }
}
