using Xunit;

namespace LockFree.Balancing.Tests;

public sealed class EndpointTests
{
    [Theory]
    [InlineData("10.0.0.7", 8080, "10.0.0.7:8080", EndpointAddressKind.IPv4)]
    [InlineData("fd00::7", 8080, "[fd00::7]:8080", EndpointAddressKind.IPv6)]
    [InlineData("[FD00:0:0::7]", 443, "[fd00::7]:443", EndpointAddressKind.IPv6)]
    [InlineData("Web-0.Web.Default.svc.cluster.local.", 80, "web-0.web.default.svc.cluster.local:80", EndpointAddressKind.DnsName)]
    [InlineData("localhost", 1, "localhost:1", EndpointAddressKind.DnsName)]
    public void Constructor_ValidHost_BuildsCanonicalKey(string host, int port, string expectedKey, EndpointAddressKind kind)
    {
        Endpoint endpoint = new(host, port);

        Assert.Equal(expectedKey, endpoint.Key);
        Assert.Equal(kind, endpoint.AddressKind);
        Assert.Equal(1, endpoint.Weight);
    }

    [Theory]
    [InlineData("10.0.0.7:8080", "10.0.0.7:8080")]
    [InlineData("[fd00::7]:8080", "[fd00::7]:8080")]
    [InlineData("[FD00:0000::0007]:8080", "[fd00::7]:8080")]
    [InlineData("Pod-1.Example.COM:9000", "pod-1.example.com:9000")]
    public void Parse_AcceptedForm_RoundTripsThroughKey(string text, string expectedKey)
    {
        Endpoint endpoint = Endpoint.Parse(text);

        Assert.Equal(expectedKey, endpoint.Key);
        Assert.Equal(endpoint, Endpoint.Parse(endpoint.Key));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("10.0.0.7", "no port")]
    [InlineData("10.0.0.7:0", "between 1 and 65535")]
    [InlineData("10.0.0.7:65536", "between 1 and 65535")]
    [InlineData("10.0.0.7:http", "between 1 and 65535")]
    [InlineData("fd00::7:8080", "without brackets")]
    [InlineData("[fd00::7]8080", "'[address]:port'")]
    [InlineData("[zz::1]:80", "not a valid IPv6")]
    [InlineData("10.0.0.256:80", "four decimal octets")]
    [InlineData("010.0.0.7:80", "without leading zeros")]
    [InlineData("10.1:80", "four decimal octets")]
    [InlineData("bad_name:80", "DNS name")]
    [InlineData("-bad.example:80", "DNS name")]
    public void Parse_RejectedForm_ThrowsFormatExceptionSayingWhy(string text, string expectedFragment)
    {
        FormatException error = Assert.Throws<FormatException>(() => Endpoint.Parse(text));

        Assert.Contains(expectedFragment, error.Message, StringComparison.Ordinal);
        Assert.False(Endpoint.TryParse(text, out _));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(Endpoint.MaxWeight + 1)]
    public void Constructor_WeightOutOfRange_ThrowsArgumentExceptionWithAcceptedRange(int weight)
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() => new Endpoint("10.0.0.1", 80, weight));

        Assert.Contains($"between 0 and {Endpoint.MaxWeight}", error.Message, StringComparison.Ordinal);
        Assert.Equal("weight", error.ParamName);
    }

    [Fact]
    public void Equals_SameKeyDifferentAttributes_IsTheSameEndpoint()
    {
        Endpoint a = new("10.0.0.1", 80, weight: 1, zone: "a");
        Endpoint b = new("10.0.0.1", 80, weight: 5, zone: "b", nodeName: "n");

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.False(a.HasSameAttributes(b));
        Assert.True(a.HasSameAttributes(a.WithWeight(1)));
    }

    [Fact]
    public void Constructor_EmptyLabels_BecomeNull()
    {
        Endpoint endpoint = new("10.0.0.1", 80, zone: "", nodeName: "");

        Assert.Null(endpoint.Zone);
        Assert.Null(endpoint.NodeName);
    }

    [Fact]
    public void Constructor_Hints_AreSortedDeduplicatedAndKeptByWithWeight()
    {
        Endpoint endpoint = new("10.0.0.1", 80, zoneHints: ["zone-b", "zone-a", "zone-b"], nodeHints: ["node-2", "node-1"]);

        Assert.Equal(["zone-a", "zone-b"], endpoint.ZoneHints);
        Assert.Equal(["node-1", "node-2"], endpoint.NodeHints);
        Assert.Equal(endpoint.ZoneHints, endpoint.WithWeight(3).ZoneHints);
        Assert.Equal(endpoint.NodeHints, endpoint.WithWeight(3).NodeHints);
        Assert.Empty(new Endpoint("10.0.0.1", 80).ZoneHints);
        Assert.Empty(new Endpoint("10.0.0.1", 80).NodeHints);
    }

    [Fact]
    public void HasSameAttributes_ComparesHintsIgnoringTheirOrder()
    {
        Endpoint a = new("10.0.0.1", 80, zoneHints: ["zone-a", "zone-b"]);
        Endpoint reordered = new("10.0.0.1", 80, zoneHints: ["zone-b", "zone-a"]);
        Endpoint otherZone = new("10.0.0.1", 80, zoneHints: ["zone-c"]);
        Endpoint withNodeHint = new("10.0.0.1", 80, zoneHints: ["zone-a", "zone-b"], nodeHints: ["node-1"]);

        Assert.True(a.HasSameAttributes(reordered));
        Assert.False(a.HasSameAttributes(otherZone));
        Assert.False(a.HasSameAttributes(withNodeHint));
    }

    [Fact]
    public void Update_OnlyHintsChanged_PublishesANewSnapshot()
    {
        RoundRobinBalancer balancer = new();
        balancer.Update([new Endpoint("10.0.0.1", 80, zoneHints: ["zone-a"])]);

        Assert.False(balancer.Update([new Endpoint("10.0.0.1", 80, zoneHints: ["zone-a"])]));
        Assert.True(balancer.Update([new Endpoint("10.0.0.1", 80, zoneHints: ["zone-b"])]));
        Assert.Equal(["zone-b"], balancer.Endpoints[0].ZoneHints);
    }

    [Theory]
    [InlineData(null, "null or empty")]
    [InlineData("", "null or empty")]
    public void Constructor_EmptyHint_ThrowsSayingWhy(string? hint, string expectedFragment)
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() => new Endpoint("10.0.0.1", 80, zoneHints: [hint!]));

        Assert.Contains(expectedFragment, error.Message, StringComparison.Ordinal);
        Assert.Equal("zoneHints", error.ParamName);
    }

    [Fact]
    public void Constructor_TooManyHints_ThrowsWithTheLimit()
    {
        string[] nine = [.. Enumerable.Range(0, Endpoint.MaxHints + 1).Select(i => $"node-{i}")];

        ArgumentException error = Assert.Throws<ArgumentException>(() => new Endpoint("10.0.0.1", 80, nodeHints: nine));

        Assert.Contains($"at most {Endpoint.MaxHints}", error.Message, StringComparison.Ordinal);
        Assert.Equal("nodeHints", error.ParamName);
    }
}
