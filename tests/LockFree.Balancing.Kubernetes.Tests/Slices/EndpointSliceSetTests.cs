using LockFree.Balancing.Kubernetes.Slices;
using Xunit;
using static LockFree.Balancing.Kubernetes.Tests.Slices.Build;

namespace LockFree.Balancing.Kubernetes.Tests.Slices;

public sealed class EndpointSliceSetTests
{
    private static readonly ServiceReference Http = ServiceReference.Parse("web.shop:http");
    private static readonly MergeSettings Default = new(AddressFamilyPreference.PreferIPv4, UseTerminatingWhenNoneReady: false);

    private static MergedEndpoints Merge(MergeSettings settings, ServiceReference service, params EndpointSlice[] slices)
    {
        var set = new EndpointSliceSet();
        set.ReplaceAll(slices);
        return set.Merge(service, settings);
    }

    private static MergedEndpoints Merge(params EndpointSlice[] slices) => Merge(Default, Http, slices);

    [Fact]
    public void Merge_SeveralSlices_UnionInKeyOrder()
    {
        MergedEndpoints merged = Merge(
            V4("web-b", Ep("10.0.0.9"), Ep("10.0.0.10")),
            V4("web-a", Ep("10.0.0.2")));

        Assert.Equal(["10.0.0.10:8080", "10.0.0.2:8080", "10.0.0.9:8080"], Keys(merged));
        Assert.Equal(SliceAddressType.IPv4, merged.Family);
    }

    [Fact]
    public void Merge_SameAddressInTwoSlices_CountsOnceFirstSliceWins()
    {
        MergedEndpoints merged = Merge(
            V4("web-b", Ep("10.0.0.1", zone: "zone-b")),
            V4("web-a", Ep("10.0.0.1", zone: "zone-a")));

        Endpoint only = Assert.Single(merged.Endpoints);
        Assert.Equal("zone-a", only.Zone);
    }

    [Fact]
    public void Merge_DuplicateNotReadyInOneSliceReadyInOther_KeepsReady()
    {
        MergedEndpoints merged = Merge(
            V4("web-a", Ep("10.0.0.1", ready: false)),
            V4("web-b", Ep("10.0.0.1", ready: true)));

        Assert.Equal(["10.0.0.1:8080"], Keys(merged));
    }

    [Fact]
    public void Merge_NamedPortDiffersPerSlice_ResolvesPerSlice()
    {
        MergedEndpoints merged = Merge(
            Slice("web-a", SliceAddressType.IPv4, [Port("http", 8080)], Ep("10.0.0.1")),
            Slice("web-b", SliceAddressType.IPv4, [Port("metrics", 9090), Port("http", 9000)], Ep("10.0.0.2")));

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:9000"], Keys(merged));
    }

    [Fact]
    public void Merge_SliceWithoutWantedPort_ContributesNothing()
    {
        MergedEndpoints merged = Merge(
            Slice("web-a", SliceAddressType.IPv4, [Port("http", 8080)], Ep("10.0.0.1")),
            Slice("web-b", SliceAddressType.IPv4, [Port("grpc", 9000)], Ep("10.0.0.2")),
            Slice("web-c", SliceAddressType.IPv4, [Port("http", null)], Ep("10.0.0.3")));

        Assert.Equal(["10.0.0.1:8080"], Keys(merged));
    }

    [Fact]
    public void Merge_NumericPort_MatchesNumberOrAllPorts()
    {
        ServiceReference service = ServiceReference.Parse("web.shop:8080");

        MergedEndpoints merged = Merge(Default, service,
            Slice("a", SliceAddressType.IPv4, [Port("http", 8080)], Ep("10.0.0.1")),
            Slice("b", SliceAddressType.IPv4, [Port("", null)], Ep("10.0.0.2")),
            Slice("c", SliceAddressType.IPv4, [Port("http", 9090)], Ep("10.0.0.3")));

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], Keys(merged));
    }

    [Fact]
    public void Merge_NoPortWanted_UsesOnlyUnambiguousSlices()
    {
        ServiceReference service = ServiceReference.Parse("web.shop");

        MergedEndpoints merged = Merge(Default, service,
            Slice("a", SliceAddressType.IPv4, [Port("", 8080)], Ep("10.0.0.1")),
            Slice("b", SliceAddressType.IPv4, [Port("http", 80), Port("https", 443)], Ep("10.0.0.2")),
            Slice("c", SliceAddressType.IPv4, [], Ep("10.0.0.3")));

        Assert.Equal(["10.0.0.1:8080"], Keys(merged));
    }

    [Theory]
    [InlineData(true, null, null, true)]
    [InlineData(null, null, null, true)]
    [InlineData(false, null, null, false)]
    [InlineData(false, true, true, false)]
    [InlineData(null, false, true, true)]
    public void Merge_Conditions_NilReadyMeansReady(bool? ready, bool? serving, bool? terminating, bool included)
    {
        MergedEndpoints merged = Merge(V4("a", Ep("10.0.0.1", ready, serving, terminating), Ep("10.0.0.2")));

        Assert.Equal(included, merged.Endpoints.Any(e => e.Host == "10.0.0.1"));
    }

    [Fact]
    public void Merge_NoneReadyFallbackOn_UsesServingTerminating()
    {
        var settings = Default with { UseTerminatingWhenNoneReady = true };

        MergedEndpoints merged = Merge(settings, Http, V4("a",
            Ep("10.0.0.1", ready: false, serving: true, terminating: true),
            Ep("10.0.0.2", ready: false, serving: false, terminating: true),
            Ep("10.0.0.3", ready: false, serving: null, terminating: true),
            Ep("10.0.0.4", ready: false, serving: true, terminating: null)));

        Assert.Equal(["10.0.0.1:8080"], Keys(merged));
        Assert.True(merged.UsedTerminatingFallback);
    }

    [Fact]
    public void Merge_SomeReadyFallbackOn_UsesOnlyReady()
    {
        var settings = Default with { UseTerminatingWhenNoneReady = true };

        MergedEndpoints merged = Merge(settings, Http, V4("a",
            Ep("10.0.0.1", ready: false, serving: true, terminating: true),
            Ep("10.0.0.2", ready: true)));

        Assert.Equal(["10.0.0.2:8080"], Keys(merged));
        Assert.False(merged.UsedTerminatingFallback);
    }

    [Fact]
    public void Merge_NoneReadyFallbackOff_IsEmpty()
    {
        MergedEndpoints merged = Merge(V4("a", Ep("10.0.0.1", ready: false, serving: true, terminating: true)));

        Assert.Empty(merged.Endpoints);
    }

    [Fact]
    public void Merge_DualStackPreferIPv4_UsesOnlyIPv4()
    {
        MergedEndpoints merged = Merge(
            V4("web-v4", Ep("10.0.0.1")),
            V6("web-v6", Ep("fd00::1")));

        Assert.Equal(["10.0.0.1:8080"], Keys(merged));
    }

    [Fact]
    public void Merge_OnlyIPv6SlicesPreferIPv4_FallsBackToIPv6()
    {
        MergedEndpoints merged = Merge(V6("web-v6", Ep("FD00:0:0::1")));

        Assert.Equal(["[fd00::1]:8080"], Keys(merged));
        Assert.Equal(SliceAddressType.IPv6, merged.Family);
    }

    [Fact]
    public void Merge_IPv4SlicesWithNoReadyEndpoint_DoesNotFlipToIPv6()
    {
        MergedEndpoints merged = Merge(
            V4("web-v4", Ep("10.0.0.1", ready: false)),
            V6("web-v6", Ep("fd00::1")));

        Assert.Empty(merged.Endpoints);
    }

    [Theory]
    [InlineData(AddressFamilyPreference.PreferIPv6, "[fd00::1]:8080")]
    [InlineData(AddressFamilyPreference.IPv6Only, "[fd00::1]:8080")]
    [InlineData(AddressFamilyPreference.IPv4Only, "10.0.0.1:8080")]
    [InlineData(AddressFamilyPreference.Fqdn, "web-0.web.shop.svc:8080")]
    public void Merge_FamilyPreference_PicksThatFamily(AddressFamilyPreference preference, string expected)
    {
        MergedEndpoints merged = Merge(Default with { Family = preference }, Http,
            V4("a", Ep("10.0.0.1")),
            V6("b", Ep("fd00::1")),
            Slice("c", SliceAddressType.Fqdn, [Port("http", 8080)], Ep("Web-0.web.shop.svc")));

        Assert.Equal([expected], Keys(merged));
    }

    [Fact]
    public void Merge_OnlyFqdnSlices_DefaultPreferenceUsesThem()
    {
        MergedEndpoints merged = Merge(Slice("c", SliceAddressType.Fqdn, [Port("http", 8080)], Ep("db.example.com")));

        Assert.Equal(["db.example.com:8080"], Keys(merged));
    }

    [Fact]
    public void Merge_IPv6OnlyWithoutIPv6Slices_IsEmpty()
    {
        MergedEndpoints merged = Merge(Default with { Family = AddressFamilyPreference.IPv6Only }, Http, V4("a", Ep("10.0.0.1")));

        Assert.Empty(merged.Endpoints);
    }

    [Fact]
    public void Merge_InvalidOrWrongFamilyAddress_IsSkipped()
    {
        MergedEndpoints merged = Merge(V4("a", Ep("10.0.0.1"), Ep("fd00::1"), Ep("999.1.1.1"), Ep("not an ip")));

        Assert.Equal(["10.0.0.1:8080"], Keys(merged));
    }

    [Fact]
    public void Merge_UnknownAddressType_ContributesNothing()
    {
        MergedEndpoints merged = Merge(Slice("a", SliceAddressType.Unknown, [Port("http", 8080)], Ep("10.0.0.1")));

        Assert.Empty(merged.Endpoints);
    }

    [Fact]
    public void Merge_ZoneNodeAndHints_AreCarried()
    {
        MergedEndpoints merged = Merge(V4("a",
            Ep("10.0.0.1", node: "node-1", zone: "zone-a", forZones: ["zone-a"], forNodes: ["node-1"]),
            Ep("10.0.0.2", node: "node-2", zone: "zone-b")));

        Endpoint first = merged.Endpoints[0];
        Assert.Equal("zone-a", first.Zone);
        Assert.Equal("node-1", first.NodeName);
        Assert.Equal(["zone-a"], first.ZoneHints);
        Assert.Equal(["node-1"], first.NodeHints);
        Assert.Empty(merged.Endpoints[1].ZoneHints);
        Assert.Empty(merged.Endpoints[1].NodeHints);
    }

    [Fact]
    public void Remove_DeletedSlice_RemovesOnlyItsEndpoints()
    {
        var set = new EndpointSliceSet();
        set.Upsert(V4("a", Ep("10.0.0.1")));
        set.Upsert(V4("b", Ep("10.0.0.2"), Ep("10.0.0.1")));

        Assert.True(set.Remove("b"));

        Assert.Equal(["10.0.0.1:8080"], Keys(set.Merge(Http, Default)));
        Assert.False(set.Remove("b"));
    }

    [Fact]
    public void Upsert_SameName_ReplacesThatSlice()
    {
        var set = new EndpointSliceSet();
        set.Upsert(V4("a", Ep("10.0.0.1")));
        set.Upsert(V4("a", Ep("10.0.0.2")));

        Assert.Equal(["10.0.0.2:8080"], Keys(set.Merge(Http, Default)));
        Assert.True(set.TryGet("a".AsSpan(), out EndpointSlice? found));
        Assert.Equal("a", found.Name);
    }

    [Fact]
    public void Merge_AllSlicesRemoved_IsEmpty()
    {
        var set = new EndpointSliceSet();
        set.Upsert(V4("a", Ep("10.0.0.1")));
        set.Remove("a");

        Assert.Empty(set.Merge(Http, Default).Endpoints);
    }

    [Fact]
    public void Merge_UnchangedEndpoint_ReusesInstance()
    {
        var set = new EndpointSliceSet();
        set.Upsert(V4("a", Ep("10.0.0.1", zone: "z")));
        Endpoint before = set.Merge(Http, Default).Endpoints[0];

        set.Upsert(V4("b", Ep("10.0.0.2")));
        MergedEndpoints after = set.Merge(Http, Default);

        Assert.Same(before, after.Endpoints[0]);
        set.Upsert(V4("a", Ep("10.0.0.1", zone: "y")));
        Assert.Equal("y", set.Merge(Http, Default).Endpoints[0].Zone);
    }

    [Fact]
    public void Merge_OnlyHintsChange_RebuildsEndpointAndSetsDiffer()
    {
        var set = new EndpointSliceSet();
        set.Upsert(V4("a", Ep("10.0.0.1", zone: "z", forZones: ["z", "y"])));
        IReadOnlyList<Endpoint> before = set.Merge(Http, Default).Endpoints;

        set.Upsert(V4("a", Ep("10.0.0.1", zone: "z", forZones: ["y", "z", "y"]))); // the same set, other order
        IReadOnlyList<Endpoint> reordered = set.Merge(Http, Default).Endpoints;
        set.Upsert(V4("a", Ep("10.0.0.1", zone: "z", forZones: ["z"], forNodes: ["node-9"])));
        IReadOnlyList<Endpoint> changed = set.Merge(Http, Default).Endpoints;

        Assert.Equal(["y", "z"], before[0].ZoneHints);
        Assert.Same(before[0], reordered[0]);
        Assert.NotSame(before[0], changed[0]);
        Assert.Equal(["z"], changed[0].ZoneHints);
        Assert.Equal(["node-9"], changed[0].NodeHints);
        Assert.True(EndpointSliceSet.SameEndpoints(before, reordered));
        Assert.False(EndpointSliceSet.SameEndpoints(before, changed));
    }

    [Fact]
    public void Merge_ResultFeedsBalancer_WithoutDuplicateKeyErrors()
    {
        var balancer = new RoundRobinBalancer();
        MergedEndpoints merged = Merge(
            V4("a", Ep("10.0.0.1", zone: "a")),
            V4("b", Ep("10.0.0.1", zone: "b"), Ep("10.0.0.2")));

        Assert.True(balancer.Update(merged.Endpoints));
        Assert.Equal(2, balancer.Endpoints.Count);
    }

    [Fact]
    public void SameEndpoints_AttributeDiffers_IsFalse()
    {
        Endpoint[] a = [new("10.0.0.1", 80, zone: "a")];
        Endpoint[] b = [new("10.0.0.1", 80, zone: "b")];
        Endpoint[] c = [new("10.0.0.1", 80, zone: "a")];

        Assert.False(EndpointSliceSet.SameEndpoints(a, b));
        Assert.True(EndpointSliceSet.SameEndpoints(a, c));
        Assert.False(EndpointSliceSet.SameEndpoints(a, []));
    }

    [Fact]
    public void Merge_FamilyChangesToFqdn_AnAddressBuiltForIPv4IsNotReused()
    {
        // Found by the fuzzer (fuzz/regressions/watch/merge-cache-skips-family-check*.jsonl): "10.0.0.1" is a legal
        // FQDN slice address, and the cache of the previous merge (IPv4) used to bring it back without the family check.
        var set = new EndpointSliceSet();
        set.Upsert(V4("web-a", Ep("10.0.0.1")));
        set.Upsert(Slice("web-b", SliceAddressType.Fqdn, [Port("http", 8080)], Ep("10.0.0.1")));
        Assert.Equal(["10.0.0.1:8080"], Keys(set.Merge(Http, Default)));

        set.Remove("web-a");
        MergedEndpoints merged = set.Merge(Http, Default);

        var fresh = new EndpointSliceSet();
        fresh.Upsert(Slice("web-b", SliceAddressType.Fqdn, [Port("http", 8080)], Ep("10.0.0.1")));
        Assert.Equal(Keys(fresh.Merge(Http, Default)), Keys(merged));
        Assert.Empty(merged.Endpoints);
    }

    [Theory]
    [InlineData(new[] { "" }, new string[0])]
    [InlineData(new[] { "zone-a", "zone-a" }, new[] { "zone-a" })]
    [InlineData(new[] { "z1", "z2", "z3", "z4", "z5", "z6", "z7", "z8", "z9" }, new string[0])]
    public void Merge_HintsTheCoreRefuses_AreDroppedAndTheEndpointKept(string[] forZones, string[] expected)
    {
        MergedEndpoints merged = Merge(V4("a", Ep("10.0.0.1", forZones: forZones)));

        Endpoint endpoint = Assert.Single(merged.Endpoints);
        Assert.Equal(expected, endpoint.ZoneHints);
    }
}
