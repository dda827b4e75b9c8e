using LockFree.Balancing.Kubernetes.Slices;
using LockFree.Balancing.Kubernetes.Watch;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests.Watch;

public sealed class KubernetesJsonTests
{
    private static WatchEvent Parse(string line, Utf8StringCache? cache = null)
        => KubernetesJson.ParseWatchEvent(Utf8(line), cache ?? new Utf8StringCache());

    [Fact]
    public void ParseWatchEvent_RealisticAdded_ReadsSlice()
    {
        string line = Event("ADDED", Slice("web-abc12", "5493506153", "IPv4", HttpPort(8080),
            Endpoint("10.0.0.7", hints: """{"forZones":[{"name":"zone-a"}],"forNodes":[{"name":"node-1"},{"name":"node-2"}]}"""),
            Endpoint("10.0.0.8", conditions: """{"ready":null,"serving":null,"terminating":null}""", node: "node-2", zone: "zone-b"),
            Endpoint("10.0.0.9", conditions: "{}")));

        WatchEvent parsed = Parse(line);

        Assert.Equal(WatchEventType.Added, parsed.Type);
        Assert.Equal("5493506153", parsed.ResourceVersion);
        EndpointSlice slice = Assert.IsType<EndpointSlice>(parsed.Slice);
        Assert.Equal("web-abc12", slice.Name);
        Assert.Equal(SliceAddressType.IPv4, slice.AddressType);
        Assert.Equal([new SlicePort("http", 8080, "TCP"), new SlicePort("metrics", 9090, "TCP")], slice.Ports);
        Assert.Equal(3, slice.Endpoints.Count);
        SliceEndpoint first = slice.Endpoints[0];
        Assert.Equal("10.0.0.7", first.Address);
        Assert.True(first.Ready);
        Assert.False(first.Terminating);
        Assert.Equal("node-1", first.NodeName);
        Assert.Equal("zone-a", first.Zone);
        Assert.Equal(["zone-a"], first.ForZones);
        Assert.Equal(["node-1", "node-2"], first.ForNodes);
        Assert.Null(slice.Endpoints[1].Ready);
        Assert.Null(slice.Endpoints[1].Serving);
        Assert.True(slice.Endpoints[1].IsReady);
        Assert.Null(slice.Endpoints[2].Ready);
        Assert.Empty(slice.Endpoints[2].ForZones);
    }

    [Fact]
    public void ParseWatchEvent_ObjectBeforeType_ReadsBoth()
    {
        WatchEvent parsed = Parse("""{"object":{"metadata":{"name":"s","resourceVersion":"7"},"addressType":"IPv6","endpoints":[{"addresses":["fd00::1"]}],"ports":[{"port":80}]},"type":"MODIFIED"}""");

        Assert.Equal(WatchEventType.Modified, parsed.Type);
        Assert.Equal(SliceAddressType.IPv6, parsed.Slice!.AddressType);
        Assert.Equal(new SlicePort(null, 80, "TCP"), Assert.Single(parsed.Slice.Ports));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("70000")]
    [InlineData("\"http\"")]
    [InlineData("8080.5")]
    [InlineData("{\"nested\":1}")]
    public void ParseWatchEvent_MalformedPortNumber_DropsThatPortInsteadOfMatchingEveryPort(string port)
    {
        // null is the API's "every port"; a malformed number must not become that wildcard.
        WatchEvent parsed = Parse(
            """{"type":"ADDED","object":{"metadata":{"name":"s","resourceVersion":"7"},"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"]}],"ports":[{"name":"bad","port":"""
            + port
            + """},{"name":"http","port":8080},{"name":"all","port":null}]}}""");

        Assert.Equal([new SlicePort("http", 8080, "TCP"), new SlicePort("all", null, "TCP")], parsed.Slice!.Ports);
    }

    [Fact]
    public void ParseWatchEvent_Deleted_ReadsName()
    {
        WatchEvent parsed = Parse(Event("DELETED", Slice("web-x", "9", "IPv4", HttpPort(80))));

        Assert.Equal(WatchEventType.Deleted, parsed.Type);
        Assert.Equal("web-x", parsed.Slice!.Name);
    }

    [Fact]
    public void ParseWatchEvent_Bookmark_ReadsResourceVersionOnly()
    {
        WatchEvent parsed = Parse(Bookmark("84021"));

        Assert.Equal(WatchEventType.Bookmark, parsed.Type);
        Assert.Equal("84021", parsed.ResourceVersion);
        Assert.Null(parsed.Slice);
        Assert.False(parsed.IsInitialEventsEnd);
        Assert.True(Parse(Bookmark("84022", initialEventsEnd: true)).IsInitialEventsEnd);
    }

    [Theory]
    [InlineData("Expired")]
    [InlineData("Gone")]
    [InlineData("SomethingNew")]
    public void ParseWatchEvent_Error410_IsGoneWhateverTheReason(string reason)
    {
        WatchEvent parsed = Parse(Gone(reason));

        Assert.Equal(WatchEventType.Error, parsed.Type);
        ApiStatus status = Assert.IsType<ApiStatus>(parsed.Status);
        Assert.Equal(410, status.Code);
        Assert.Equal(reason, status.Reason);
        Assert.Equal("too old resource version: 44982 (53593)", status.Message);
        Assert.True(status.IsGone);
    }

    [Fact]
    public void ParseWatchEvent_Error500_IsNotGone()
    {
        WatchEvent parsed = Parse("{\"type\":\"ERROR\",\"object\":" + Status(500, "InternalError", "etcd is sad") + "}");

        Assert.False(parsed.Status!.IsGone);
        Assert.Equal(500, parsed.Status.Code);
    }

    [Fact]
    public void ParseWatchEvent_UnknownType_IsUnknown()
    {
        Assert.Equal(WatchEventType.Unknown, Parse("""{"type":"SOMETHING","object":{}}""").Type);
    }

    [Fact]
    public void ParseWatchEvent_EscapedStrings_AreUnescaped()
    {
        WatchEvent parsed = Parse("""{"type":"ADDED","object":{"metadata":{"name":"web\u002dabc"},"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"],"zone":"z\u00fcrich"}]}}""");

        Assert.Equal("web-abc", parsed.Slice!.Name);
        Assert.Equal("zürich", parsed.Slice.Endpoints[0].Zone);
    }

    [Fact]
    public void ParseWatchEvent_LargeManagedFields_IsSkipped()
    {
        string line = Event("MODIFIED", Slice("big", "1", "IPv4", HttpPort(80), padding: 2_000_000, Endpoint("10.0.0.1")));

        WatchEvent parsed = Parse(line);

        Assert.Equal("10.0.0.1", Assert.Single(parsed.Slice!.Endpoints).Address);
    }

    [Fact]
    public void ParseWatchEvent_NullCollections_AreEmpty()
    {
        WatchEvent parsed = Parse("""{"type":"ADDED","object":{"metadata":{"name":"s","labels":null},"addressType":"IPv4","endpoints":null,"ports":null}}""");

        Assert.Empty(parsed.Slice!.Endpoints);
        Assert.Empty(parsed.Slice.Ports);
    }

    [Fact]
    public void ParseWatchEvent_PortNumberNullIsEveryPort_OutOfRangeIsDropped()
    {
        WatchEvent parsed = Parse("""{"type":"ADDED","object":{"metadata":{"name":"s"},"ports":[{"name":"a","port":null},{"name":"b","port":70000},{"name":"c","port":443,"protocol":"UDP"}]}}""");

        Assert.Equal([new SlicePort("a", null, "TCP"), new SlicePort("c", 443, "UDP")], parsed.Slice!.Ports);
    }

    [Fact]
    public void ParseWatchEvent_UnknownAddressType_IsUnknown()
    {
        Assert.Equal(SliceAddressType.Unknown, Parse("""{"type":"ADDED","object":{"metadata":{"name":"s"},"addressType":"IPv9"}}""").Slice!.AddressType);
    }

    [Fact]
    public void ParseWatchEvent_SameStringsTwice_SharesInstances()
    {
        var cache = new Utf8StringCache();
        string line = Event("MODIFIED", Slice("web-abc", "1", "IPv4", HttpPort(80), Endpoint("10.0.0.1")));

        EndpointSlice first = Parse(line, cache).Slice!;
        EndpointSlice second = Parse(line, cache).Slice!;

        Assert.Same(first.Name, second.Name);
        Assert.Same(first.Endpoints[0].Address, second.Endpoints[0].Address);
        Assert.Same(first.Endpoints[0].Zone, second.Endpoints[0].Zone);
        Assert.Same(first.Ports[0].Name, second.Ports[0].Name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"type\":\"ADDED\"")]
    [InlineData("{\"object\":{}}")]
    [InlineData("{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}")]
    [InlineData("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}} {}")]
    [InlineData("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"},\"endpoints\":[{\"conditions\":{\"ready\":\"yes\"}}]}}")]
    [InlineData("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"},\"endpoints\":{}}}")]
    [InlineData("{\"type\":5}")]
    public void ParseWatchEvent_Invalid_ThrowsInvalidWatchData(string line)
    {
        Assert.Throws<InvalidWatchDataException>(() => Parse(line));
    }

    [Fact]
    public void ParseWatchEvent_InvalidUtf8InValue_ThrowsInvalidWatchData()
    {
        byte[] line = Utf8("""{"type":"ADDED","object":{"metadata":{"name":"aXb"}}}""");
        line[Array.IndexOf(line, (byte)'X')] = 0xC3; // a lead byte without its continuation

        Assert.Throws<InvalidWatchDataException>(() => KubernetesJson.ParseWatchEvent(line, new Utf8StringCache()));
    }

    [Fact]
    public void ParseList_Page_ReadsMetadataAndItems()
    {
        string body = List("777", "token-2",
            Slice("web-a", "700", "IPv4", HttpPort(8080), Endpoint("10.0.0.1")),
            Slice("web-b", "701", "IPv6", HttpPort(8080), Endpoint("fd00::1")));

        EndpointSliceList list = KubernetesJson.ParseList(Utf8(body), new Utf8StringCache());

        Assert.Equal("777", list.ResourceVersion);
        Assert.Equal("token-2", list.Continue);
        Assert.Equal(["web-a", "web-b"], list.Items.Select(s => s.Name));
        Assert.Equal(SliceAddressType.IPv6, list.Items[1].AddressType);
    }

    [Fact]
    public void ParseList_EmptyContinueAndNullItems_MeansLastEmptyPage()
    {
        EndpointSliceList list = KubernetesJson.ParseList(Utf8("""{"metadata":{"resourceVersion":"5","continue":""},"items":null}"""), new Utf8StringCache());

        Assert.Null(list.Continue);
        Assert.Empty(list.Items);
        Assert.Equal("5", list.ResourceVersion);
    }

    [Fact]
    public void ParseList_Invalid_ThrowsInvalidWatchData()
    {
        Assert.Throws<InvalidWatchDataException>(() => KubernetesJson.ParseList(Utf8("""{"items":[{"metadata":{}}]}"""), new Utf8StringCache()));
        Assert.Throws<InvalidWatchDataException>(() => KubernetesJson.ParseList(Utf8("""{"items":[}"""), new Utf8StringCache()));
    }

    [Fact]
    public void TryParseStatus_StatusBody_ReadsFields()
    {
        ApiStatus? status = KubernetesJson.TryParseStatus(Utf8(Status(403, "Forbidden", "endpointslices.discovery.k8s.io is forbidden")));

        Assert.Equal(new ApiStatus(403, "Forbidden", "endpointslices.discovery.k8s.io is forbidden"), status);
    }

    [Theory]
    [InlineData("")]
    [InlineData("<html>oops</html>")]
    [InlineData("{\"kind\":\"EndpointSliceList\"}")]
    public void TryParseStatus_NotAStatus_ReturnsNull(string body)
    {
        Assert.Null(KubernetesJson.TryParseStatus(Utf8(body)));
    }

    [Theory]
    [InlineData("\"kind\":{\"nested\":{\"x\":1}}")]
    [InlineData("\"kind\":[\"Status\",1]")]
    [InlineData("\"code\":{\"x\":410}")]
    public void ParseWatchEvent_KindOrCodeOfAnotherShape_IsSteppedOver(string field)
    {
        // Found by the fuzzer (fuzz/regressions/watch/kind-object-derails-parser.jsonl): the reader lost its place.
        WatchEvent parsed = Parse("""{"type":"MODIFIED","object":{""" + field + ""","metadata":{"name":"s","resourceVersion":"7"},"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"]}],"ports":[{"port":80}]}}""");

        Assert.Equal(WatchEventType.Modified, parsed.Type);
        Assert.Equal("s", parsed.Slice!.Name);
        Assert.Equal("10.0.0.1", Assert.Single(parsed.Slice.Endpoints).Address);
    }

    [Fact]
    public void TryParseStatus_CodeNestedInAnObjectKind_IsNotTheStatusCode()
    {
        ApiStatus? status = KubernetesJson.TryParseStatus(Utf8("""{"kind":{"code":410},"code":500,"message":"m"}"""));

        Assert.Equal(500, status?.Code);
    }
}
