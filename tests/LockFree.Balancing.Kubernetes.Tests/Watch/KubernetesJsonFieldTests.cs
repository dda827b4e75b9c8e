using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LockFree.Balancing.Kubernetes.Slices;
using LockFree.Balancing.Kubernetes.Watch;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests.Watch;

/// <summary>
/// The property-name fast path (one classification per name) must read exactly what JSON says, however the name is
/// spelled: escaped, reordered, repeated or a near miss of a known name.
/// </summary>
public sealed partial class KubernetesJsonFieldTests
{
    private static readonly string RealisticLine = Event("MODIFIED", Slice("web-abc12", "5493506153", "IPv6", HttpPort(8080),
        Endpoint("fd00::7", hints: """{"forZones":[{"name":"zone-a"}],"forNodes":[{"name":"node-1"}]}"""),
        Endpoint("fd00::8", conditions: """{"ready":false,"serving":true,"terminating":true}""", node: "node-2", zone: "zone-b")));

    [GeneratedRegex("\"([A-Za-z][A-Za-z0-9./-]*)\":")]
    private static partial Regex PropertyName();

    private static WatchEvent Parse(string line) => KubernetesJson.ParseWatchEvent(Utf8(line), new Utf8StringCache());

    private static string Describe(EndpointSlice slice)
        => $"{slice.Name}|{slice.AddressType}|{string.Join(",", slice.Ports)}|"
           + string.Join(";", slice.Endpoints.Select(e =>
               $"{e.Address} {e.Ready} {e.Serving} {e.Terminating} {e.NodeName} {e.Zone} [{string.Join(",", e.ForZones)}] [{string.Join(",", e.ForNodes)}]"));

    [Fact]
    public void ParseWatchEvent_EveryPropertyNameEscaped_ReadsTheSameSlice()
    {
        // "addresses": -> "\u0061ddresses": for every property name of the event, known or not.
        string escaped = PropertyName().Replace(RealisticLine, m => $"\"\\u{(int)m.Groups[1].Value[0]:x4}{m.Groups[1].Value[1..]}\":");
        Assert.Contains("\"\\u0061ddresses\":", escaped, StringComparison.Ordinal);

        WatchEvent plain = Parse(RealisticLine);
        WatchEvent parsed = Parse(escaped);

        Assert.Equal(WatchEventType.Modified, parsed.Type);
        Assert.Equal("5493506153", parsed.ResourceVersion);
        Assert.Equal(Describe(plain.Slice!), Describe(parsed.Slice!));
        Assert.Equal(SliceAddressType.IPv6, parsed.Slice!.AddressType);
        Assert.Equal(2, parsed.Slice.Endpoints.Count);
        Assert.Equal(["zone-a"], parsed.Slice.Endpoints[0].ForZones);
        Assert.False(parsed.Slice.Endpoints[1].Ready);
    }

    [Fact]
    public void ParseWatchEvent_NameEscapedInTheMiddle_IsStillThatName()
    {
        WatchEvent parsed = Parse("""{"typ\u0065":"ADDED","object":{"metadata":{"n\u0061me":"s"},"endpoints":[{"addr\u0065sses":["10.0.0.1"],"conditions":{"r\u0065ady":false},"zon\u0065":"z"}],"ports":[{"p\u006Frt":80}]}}""");

        SliceEndpoint endpoint = Assert.Single(parsed.Slice!.Endpoints);
        Assert.Equal(WatchEventType.Added, parsed.Type);
        Assert.Equal("s", parsed.Slice.Name);
        Assert.Equal("10.0.0.1", endpoint.Address);
        Assert.False(endpoint.Ready);
        Assert.Equal("z", endpoint.Zone);
        Assert.Equal(80, Assert.Single(parsed.Slice.Ports).Number);
    }

    [Fact]
    public void ParseWatchEvent_InitialEventsEndAnnotationEscaped_IsRecognised()
    {
        WatchEvent parsed = Parse("""{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9","annotations":{"k8s.io\/initial-events-end":"true"}}}}""");

        Assert.True(parsed.IsInitialEventsEnd);
    }

    [Theory]
    [InlineData("addresse")]     // shorter
    [InlineData("addressesx")]   // longer
    [InlineData("Addresses")]    // names are case-sensitive
    [InlineData("addresseS")]
    [InlineData("targetRef")]    // same length as addresses, skipped
    public void ParseWatchEvent_NearMissOfAKnownName_IsSkipped(string name)
    {
        WatchEvent parsed = Parse($$$"""{"type":"ADDED","object":{"metadata":{"name":"s"},"endpoints":[{"{{{name}}}":["10.0.0.9"],"addresses":["10.0.0.1"]}]}}""");

        Assert.Equal("10.0.0.1", Assert.Single(parsed.Slice!.Endpoints).Address);
    }

    [Fact]
    public void ParseWatchEvent_EscapedNameLongerThanAnyKnownName_IsSkipped()
    {
        string longName = string.Concat(Enumerable.Repeat("\\u0061", 40)); // 240 bytes escaped, 40 unescaped
        WatchEvent parsed = Parse($$$"""{"type":"ADDED","object":{"metadata":{"name":"s"},"endpoints":[{"{{{longName}}}":{"x":[1]},"addresses":["10.0.0.1"]}]}}""");

        Assert.Equal("10.0.0.1", Assert.Single(parsed.Slice!.Endpoints).Address);
    }

    [Fact]
    public void ParseWatchEvent_EscapedNameWithALoneSurrogate_IsRejectedExactlyWhereSystemTextJsonComparesIt()
    {
        // A lone surrogate escape is valid JSON syntax that unescapes to no UTF-8. System.Text.Json's name comparison
        // (ValueTextEquals; JsonDocument's NameEquals, the fuzzer's reference) throws on it, but only when the escaped
        // length could spell the name compared: 6 bytes against "zone" does, 72 bytes against "terminating" (at most
        // 11 bytes unescaped, so at most 66 escaped) does not. The parser rejects and accepts exactly the same events.
        string longName = "\\ud800" + new string('x', 66);
        var probe = new Utf8JsonReader(Encoding.UTF8.GetBytes($$"""{"{{longName}}":1,"\ud800":2}"""));
        Assert.True(probe.Read() && probe.Read());
        Assert.False(probe.ValueTextEquals("terminating"u8));
        Assert.True(probe.Read() && probe.Read());
        try
        {
            probe.ValueTextEquals("zone"u8);
            Assert.Fail("System.Text.Json no longer throws on a lone surrogate: the parser's emulation of it is out of date.");
        }
        catch (InvalidOperationException)
        {
        }

        WatchEvent accepted = Parse($$$"""{"type":"ADDED","object":{"metadata":{"name":"s"},"endpoints":[{"conditions":{"{{{longName}}}":1,"ready":false},"addresses":["10.0.0.1"]}]}}""");
        Assert.False(Assert.Single(accepted.Slice!.Endpoints).Ready);
        Assert.Throws<InvalidWatchDataException>(() => Parse("""{"type":"ADDED","object":{"metadata":{"name":"s"},"endpoints":[{"\ud800":1,"addresses":["10.0.0.1"]}]}}"""));
    }

    [Fact]
    public void ParseWatchEvent_DuplicateProperties_LastOneWins()
    {
        WatchEvent parsed = Parse("""{"type":"ADDED","object":{"metadata":{"name":"s"},"endpoints":[{"zone":"a","addresses":["10.0.0.1"],"zone":"b","conditions":{"ready":true,"ready":false}}]}}""");

        SliceEndpoint endpoint = Assert.Single(parsed.Slice!.Endpoints);
        Assert.Equal("b", endpoint.Zone);
        Assert.False(endpoint.Ready);
    }

    [Fact]
    public void ParseWatchEvent_FieldsInUnusualOrder_AreAllRead()
    {
        WatchEvent parsed = Parse("""{"object":{"ports":[{"protocol":"UDP","port":53,"name":"dns"}],"endpoints":[{"zone":"z","conditions":{"terminating":true,"serving":false},"nodeName":"n","addresses":["10.0.0.1"]}],"addressType":"IPv4","metadata":{"resourceVersion":"3","name":"s"}},"type":"MODIFIED"}""");

        SliceEndpoint endpoint = Assert.Single(parsed.Slice!.Endpoints);
        Assert.Equal(("s", "3", SliceAddressType.IPv4), (parsed.Slice.Name, parsed.ResourceVersion, parsed.Slice.AddressType));
        Assert.Equal(new SlicePort("dns", 53, "UDP"), Assert.Single(parsed.Slice.Ports));
        Assert.Equal(("10.0.0.1", "n", "z"), (endpoint.Address, endpoint.NodeName, endpoint.Zone));
        Assert.Equal((null, (bool?)false, (bool?)true), (endpoint.Ready, endpoint.Serving, endpoint.Terminating));
    }

    [Theory]
    [InlineData("type", nameof(KubernetesJson.Field.Type))]
    [InlineData("object", nameof(KubernetesJson.Field.Object))]
    [InlineData("metadata", nameof(KubernetesJson.Field.Metadata))]
    [InlineData("items", nameof(KubernetesJson.Field.Items))]
    [InlineData("continue", nameof(KubernetesJson.Field.Continue))]
    [InlineData("resourceVersion", nameof(KubernetesJson.Field.ResourceVersion))]
    [InlineData("name", nameof(KubernetesJson.Field.Name))]
    [InlineData("annotations", nameof(KubernetesJson.Field.Annotations))]
    [InlineData("k8s.io/initial-events-end", nameof(KubernetesJson.Field.InitialEventsEnd))]
    [InlineData("kind", nameof(KubernetesJson.Field.Kind))]
    [InlineData("code", nameof(KubernetesJson.Field.Code))]
    [InlineData("reason", nameof(KubernetesJson.Field.Reason))]
    [InlineData("message", nameof(KubernetesJson.Field.Message))]
    [InlineData("addressType", nameof(KubernetesJson.Field.AddressType))]
    [InlineData("endpoints", nameof(KubernetesJson.Field.Endpoints))]
    [InlineData("ports", nameof(KubernetesJson.Field.Ports))]
    [InlineData("subsets", nameof(KubernetesJson.Field.Subsets))]
    [InlineData("addresses", nameof(KubernetesJson.Field.Addresses))]
    [InlineData("conditions", nameof(KubernetesJson.Field.Conditions))]
    [InlineData("ready", nameof(KubernetesJson.Field.Ready))]
    [InlineData("serving", nameof(KubernetesJson.Field.Serving))]
    [InlineData("terminating", nameof(KubernetesJson.Field.Terminating))]
    [InlineData("nodeName", nameof(KubernetesJson.Field.NodeName))]
    [InlineData("zone", nameof(KubernetesJson.Field.Zone))]
    [InlineData("hints", nameof(KubernetesJson.Field.Hints))]
    [InlineData("forZones", nameof(KubernetesJson.Field.ForZones))]
    [InlineData("forNodes", nameof(KubernetesJson.Field.ForNodes))]
    [InlineData("port", nameof(KubernetesJson.Field.Port))]
    [InlineData("protocol", nameof(KubernetesJson.Field.Protocol))]
    [InlineData("endpoints.kubernetes.io/over-capacity", nameof(KubernetesJson.Field.OverCapacity))]
    public void Classify_KnownName_IsThatFieldAndEveryOneByteChangeIsNot(string name, string expected)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(name);
        Assert.Equal(Enum.Parse<KubernetesJson.Field>(expected), KubernetesJson.Classify(bytes));
        Assert.NotEqual(Enum.Parse<KubernetesJson.Field>(expected), KubernetesJson.Classify(bytes.AsSpan(0, bytes.Length - 1)));
        for (int i = 0; i < bytes.Length; i++)
        {
            byte[] changed = (byte[])bytes.Clone();
            changed[i] ^= 0x20;
            Assert.Equal(KubernetesJson.Field.Other, KubernetesJson.Classify(changed));
        }
    }

    [Fact]
    public void Classify_EveryFieldHasANameThatMapsToIt()
    {
        // A Field added to the enum without a name in Classify would never be read: fail here instead.
        string[] names =
        [
            "type", "object", "metadata", "items", "continue", "resourceVersion", "name", "annotations", "k8s.io/initial-events-end",
            "kind", "code", "reason", "message", "addressType", "endpoints", "ports", "subsets", "addresses", "conditions", "ready",
            "serving", "terminating", "nodeName", "zone", "hints", "forZones", "forNodes", "port", "protocol",
            "endpoints.kubernetes.io/over-capacity",
        ];
        KubernetesJson.Field[] mapped = [.. names.Select(n => KubernetesJson.Classify(Encoding.UTF8.GetBytes(n)))];

        Assert.Equal(Enum.GetValues<KubernetesJson.Field>().Where(f => f != KubernetesJson.Field.Other).Order(), mapped.Order());
    }

    [Fact]
    public void Utf8StringCache_SameLengthNonAsciiText_DoesNotMatchTheHeldString()
    {
        // UTF-8 of "é" is C3 A9; the held "Ã©" is the chars U+00C3 U+00A9: a byte-for-char comparison calls them equal.
        string held = "\u00C3\u00A9";
        var reader = new Utf8JsonReader("\"\u00E9\""u8);
        Assert.True(reader.Read());

        string value = new Utf8StringCache().Get(ref reader, held);

        Assert.Equal("\u00E9", value);
    }

    [Fact]
    public void Utf8StringCache_SameText_ReturnsTheHeldInstance()
    {
        string held = new("zone-a".AsSpan());
        var ascii = new Utf8JsonReader("\"zone-a\""u8);
        var nonAscii = new Utf8JsonReader("\"Z\u00FCrich\""u8);
        string heldNonAscii = new("Z\u00FCrich".AsSpan());
        Assert.True(ascii.Read() && nonAscii.Read());

        var cache = new Utf8StringCache();
        Assert.Same(held, cache.Get(ref ascii, held));
        Assert.Same(heldNonAscii, cache.Get(ref nonAscii, heldNonAscii));
    }
}
