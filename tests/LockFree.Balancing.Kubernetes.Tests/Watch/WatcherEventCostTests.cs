using System.Globalization;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Watch;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests.Watch;

/// <summary>
/// The watch loop's per-event step (parse against the held slices, apply, status) on a watcher synced from a real
/// LIST: an event that changes nothing allocates nothing, and what it refreshes still shows in the status.
/// </summary>
public sealed class WatcherEventCostTests : IAsyncLifetime
{
    private static readonly ServiceReference Web = ServiceReference.Parse("web.shop:http");
    private FakeApiServer _server = null!;
    private int _publications;

    public async Task InitializeAsync() => _server = await FakeApiServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static string SliceA(string rv, bool thirdReady = true)
        => Slice("web-a", rv, "IPv4", HttpPort(8080),
            [.. Enumerable.Range(1, 20).Select(i => Endpoint(
                "10.0.0." + i.ToString(CultureInfo.InvariantCulture),
                conditions: i == 3 && !thirdReady ? """{"ready":false}""" : ReadyConditions,
                zone: i % 2 == 0 ? "zone-a" : "zone-b",
                hints: i % 5 == 0 ? """{"forZones":[{"name":"zone-a"}]}""" : null))]);

    private async Task<KubernetesEndpointWatcher> SyncedWatcherAsync()
    {
        _server.SetList("100", SliceA("90"), Slice("web-b", "91", "IPv4", HttpPort(9000), Endpoint("10.0.1.1")));
        var watcher = new KubernetesEndpointWatcher(Web, _ => Interlocked.Increment(ref _publications), new KubernetesWatcherOptions { ApiServer = _server.BaseAddress });
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await watcher.SyncOnceAsync(limit.Token);
        return watcher;
    }

    [Fact]
    public async Task UnchangedEvent_ParseApplyAndStatus_AllocateNothing()
    {
        await using KubernetesEndpointWatcher watcher = await SyncedWatcherAsync();
        byte[][] lines = [.. Enumerable.Range(0, 1000).Select(i => Utf8(Event("MODIFIED", SliceA((200 + i).ToString(CultureInfo.InvariantCulture)))))];
        watcher.Apply(watcher.ParseLine(lines[0])); // warm up: the first repeat remembers nothing new

        long perEvent = long.MaxValue;
        for (int pass = 0; pass < 3; pass++)
        {
            // The least of three passes: the runtime once charged a stray allocation to a measuring thread under the full suite.
            long before = GC.GetAllocatedBytesForCurrentThread();
            foreach (byte[] line in lines)
            {
                watcher.Apply(watcher.ParseLine(line));
            }

            perEvent = Math.Min(perEvent, (GC.GetAllocatedBytesForCurrentThread() - before) / lines.Length);
        }

        Assert.Equal(0, perEvent);
        Assert.Equal(1, Volatile.Read(ref _publications)); // the LIST's, and no other
        KubernetesWatchStatus status = watcher.Status;     // the refreshed fields are folded in on read
        Assert.Equal("1199", status.ResourceVersion);
        Assert.False(status.IsStale);
        Assert.Equal(1, status.Version);
    }

    [Fact]
    public async Task UnchangedEvent_WakesAWaiterOnTheResourceVersion()
    {
        await using KubernetesEndpointWatcher watcher = await SyncedWatcherAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Task<KubernetesWatchStatus> waiting = watcher.WaitForStatusAsync(s => s.ResourceVersion == "300", limit.Token);

        watcher.Apply(watcher.ParseLine(Utf8(Event("MODIFIED", SliceA("299")))));
        watcher.Apply(watcher.ParseLine(Utf8(Bookmark("300"))));

        Assert.Equal("300", (await waiting).ResourceVersion);
        Assert.Equal(1, Volatile.Read(ref _publications));
    }

    [Fact]
    public async Task StatusReadDuringAPublication_NeverShowsAResourceVersionAheadOfItsVersion()
    {
        _server.SetList("100", SliceA("90"), Slice("web-b", "91", "IPv4", HttpPort(9000), Endpoint("10.0.1.1")));
        KubernetesEndpointWatcher? watcher = null;
        var seenInCallback = new List<(long Version, string? ResourceVersion)>();
        watcher = new KubernetesEndpointWatcher(Web, _ =>
        {
            // The subscriber (or a metrics gauge) reading the status while the new set is being delivered.
            if (watcher is not null)
            {
                KubernetesWatchStatus status = watcher.Status;
                seenInCallback.Add((status.Version, status.ResourceVersion));
            }
        }, new KubernetesWatcherOptions { ApiServer = _server.BaseAddress });
        await using (watcher)
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await watcher.SyncOnceAsync(limit.Token);
            watcher.Apply(watcher.ParseLine(Utf8(Event("MODIFIED", SliceA("200"))))); // nothing changes: status refreshed lazily

            watcher.Apply(watcher.ParseLine(Utf8(Event("MODIFIED", SliceA("300", thirdReady: false)))));

            Assert.Equal((1L, "200"), seenInCallback[^1]); // the state the delivered set replaces, not the event's own
            Assert.Equal((2L, "300"), (watcher.Status.Version, watcher.Status.ResourceVersion));
        }
    }

    [Fact]
    public async Task ChangedEvent_PublishesWithItsResourceVersion()
    {
        await using KubernetesEndpointWatcher watcher = await SyncedWatcherAsync();

        watcher.Apply(watcher.ParseLine(Utf8(Event("MODIFIED", SliceA("400", thirdReady: false)))));

        KubernetesWatchStatus status = watcher.Status;
        Assert.Equal((2L, "400"), (status.Version, status.ResourceVersion));
        Assert.DoesNotContain(watcher.Endpoints, e => e.Key == "10.0.0.3:8080");
        Assert.Equal(20, watcher.Endpoints.Count); // 19 of web-a and web-b's one
    }
}
