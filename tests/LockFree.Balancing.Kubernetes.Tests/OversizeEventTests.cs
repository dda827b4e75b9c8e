using System.Text;
using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests;

/// <summary>A 10 MB watch event against a 1 MiB limit. Runs alone because it measures the process's allocations.</summary>
[Collection(nameof(RunsAlone))]
public sealed class OversizeEventTests
{
    private static readonly ServiceReference Web = ServiceReference.Parse("kubernetes:///web.shop:http");

    [Fact]
    public async Task TenMegabyteEvent_RejectedWithClearErrorAndRelist_WithoutBufferingIt()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.SetList("100", Slice("web-a", "90", "IPv4", HttpPort(8080), Endpoint("10.0.0.1")));
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, new KubernetesWatcherOptions
        {
            ApiServer = server.BaseAddress,
            MaxEventBytes = 1024 * 1024,
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            MaxBackoff = TimeSpan.FromMilliseconds(50),
            Random = new Random(13),
        });
        watcher.StartBackgroundSync();
        WatchConnection first = await server.NextWatchAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await watcher.WaitForVersionAsync(1, limit.Token);
        byte[] tenMegabytes = Encoding.UTF8.GetBytes(Event("MODIFIED", Slice("web-a", "130", "IPv4", HttpPort(8080), padding: 10_000_000, Endpoint("10.0.0.9"))) + "\n");

        byte[][] chunks = [.. tenMegabytes.Chunk(64 * 1024)]; // as an API server sends it: the client can stop reading early

        long before = GC.GetTotalAllocatedBytes(precise: true);
        foreach (byte[] chunk in chunks)
        {
            first.SendRaw(chunk);
        }

        KubernetesWatchStatus status = await watcher.WaitForStatusAsync(s => s.ListCount == 2, limit.Token);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.True(tenMegabytes.Length > 10_000_000);
        Assert.Contains("larger than the configured limit of 1048576 bytes", status.LastError!.Message, StringComparison.Ordinal);
        Assert.Contains("Relisting", status.LastError.Message, StringComparison.Ordinal);
        Assert.Equal(["10.0.0.1:8080"], watcher.Endpoints.Select(e => e.Key)); // the last good set stays
        Assert.True(allocated < 8_000_000, $"the process allocated {allocated:N0} bytes while a 10 MB event was refused");
        await server.NextWatchAsync(); // and it watches again after the relist
    }
}
