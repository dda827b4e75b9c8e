using LockFree.Balancing.Kubernetes.Slices;
using LockFree.Balancing.Kubernetes.Watch;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests.Watch;

public sealed class KubernetesJsonReuseTests
{
    private const string Hints = """{"forZones":[{"name":"zone-a"}],"forNodes":[{"name":"node-1"}]}""";

    private static string Line(string rv, string secondConditions = ReadyConditions, int port = 8080)
        => Event("MODIFIED", Slice("web-a", rv, "IPv4", HttpPort(port),
            Endpoint("10.0.0.1", hints: Hints),
            Endpoint("10.0.0.2", conditions: secondConditions, hints: Hints)));

    private static (EndpointSliceSet Known, Utf8StringCache Cache, EndpointSlice Held) Seed()
    {
        var cache = new Utf8StringCache();
        var known = new EndpointSliceSet();
        EndpointSlice held = KubernetesJson.ParseWatchEvent(Utf8(Line("1")), cache, known).Slice!;
        known.Upsert(held);
        return (known, cache, held);
    }

    [Fact]
    public void ParseWatchEvent_KnownSliceUnchanged_ReturnsHeldInstance()
    {
        (EndpointSliceSet known, Utf8StringCache cache, EndpointSlice held) = Seed();

        WatchEvent parsed = KubernetesJson.ParseWatchEvent(Utf8(Line("2")), cache, known);

        Assert.Same(held, parsed.Slice);
        Assert.Equal("2", parsed.ResourceVersion);
    }

    [Fact]
    public void ParseWatchEvent_OneEndpointChanged_ReusesTheOthers()
    {
        (EndpointSliceSet known, Utf8StringCache cache, EndpointSlice held) = Seed();

        EndpointSlice parsed = KubernetesJson.ParseWatchEvent(Utf8(Line("2", secondConditions: """{"ready":false}""")), cache, known).Slice!;

        Assert.NotSame(held, parsed);
        Assert.Same(held.Endpoints[0], parsed.Endpoints[0]);
        Assert.NotSame(held.Endpoints[1], parsed.Endpoints[1]);
        Assert.False(parsed.Endpoints[1].Ready);
        Assert.Same(held.Endpoints[1].ForZones, parsed.Endpoints[1].ForZones);
        Assert.Same(held.Ports, parsed.Ports);
    }

    [Fact]
    public void ParseWatchEvent_PortChanged_NewSliceWithNewPorts()
    {
        (EndpointSliceSet known, Utf8StringCache cache, EndpointSlice held) = Seed();

        EndpointSlice parsed = KubernetesJson.ParseWatchEvent(Utf8(Line("2", port: 8081)), cache, known).Slice!;

        Assert.NotSame(held, parsed);
        Assert.Equal(8081, parsed.Ports[0].Number);
        Assert.Same(held.Endpoints, parsed.Endpoints);
    }

    [Fact]
    public void ParseWatchEvent_EndpointRemoved_NewList()
    {
        (EndpointSliceSet known, Utf8StringCache cache, EndpointSlice held) = Seed();
        string line = Event("MODIFIED", Slice("web-a", "3", "IPv4", HttpPort(8080), Endpoint("10.0.0.1", hints: Hints)));

        EndpointSlice parsed = KubernetesJson.ParseWatchEvent(Utf8(line), cache, known).Slice!;

        Assert.Same(held.Endpoints[0], Assert.Single(parsed.Endpoints));
    }

    [Fact]
    public void ParseList_KnownSlices_ReturnsHeldInstances()
    {
        (EndpointSliceSet known, Utf8StringCache cache, EndpointSlice held) = Seed();
        string body = List("9", null,
            Slice("web-a", "5", "IPv4", HttpPort(8080), Endpoint("10.0.0.1", hints: Hints), Endpoint("10.0.0.2", hints: Hints)),
            Slice("web-b", "6", "IPv4", HttpPort(8080), Endpoint("10.0.0.3")));

        EndpointSliceList list = KubernetesJson.ParseList(Utf8(body), cache, known);

        Assert.Same(held, list.Items[0]);
        Assert.Equal("web-b", list.Items[1].Name);
    }

    [Fact]
    public void ParseWatchEvent_UnchangedEvent_AllocatesNothing()
    {
        (EndpointSliceSet known, Utf8StringCache cache, _) = Seed();
        byte[] line = Utf8(Line("5493506153"));
        var resourceVersion = new ResourceVersionBuffer();
        KubernetesJson.ParseWatchEvent(line, cache, known, resourceVersion); // warm up

        const int Events = 1000;
        long perEvent = long.MaxValue;
        for (int pass = 0; pass < 3; pass++)
        {
            // The least of three passes: the runtime once charged a stray allocation to a measuring thread under the full suite.
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < Events; i++)
            {
                KubernetesJson.ParseWatchEvent(line, cache, known, resourceVersion);
            }

            perEvent = Math.Min(perEvent, (GC.GetAllocatedBytesForCurrentThread() - before) / Events);
        }

        Assert.Equal(0, perEvent);
        Assert.Equal("5493506153", KubernetesJson.ParseWatchEvent(line, cache, known, resourceVersion).ResourceVersion);
    }
}
