using LockFree.Balancing.Yarp.Policies;
using Xunit;
using Yarp.ReverseProxy.Configuration;

namespace LockFree.Balancing.Yarp.Tests;

public sealed class ConfigValidationTests
{
    private static readonly LockFreeConfigFilter Filter = new();

    private static ClusterConfig With(string policy, Dictionary<string, string>? metadata, params (string Id, string Address, string? Weight)[] destinations) => new()
    {
        ClusterId = "orders",
        LoadBalancingPolicy = policy,
        Metadata = metadata,
        Destinations = destinations.ToDictionary(
            d => d.Id,
            d => new DestinationConfig { Address = d.Address, Metadata = d.Weight is null ? null : new Dictionary<string, string> { [LockFreeClusterMetadata.Weight] = d.Weight } }),
    };

    private static async Task<LockFreeConfigException> FailsAsync(ClusterConfig cluster)
        => await Assert.ThrowsAsync<LockFreeConfigException>(async () => await Filter.ConfigureClusterAsync(cluster, CancellationToken.None));

    [Theory]
    [InlineData("header:x-user", "Header", "x-user")]
    [InlineData("  Header:X-User ", "Header", "X-User")]
    [InlineData("cookie:session", "Cookie", "session")]
    [InlineData("route:id", "Route", "id")]
    [InlineData("client-ip", "ClientIp", "")]
    public void HashKeySource_AcceptedForms_Parse(string text, string kind, string name)
    {
        Assert.True(HashKeySource.TryParse(text, out HashKeySource? source, out _));
        Assert.Equal(kind, source.Kind.ToString());
        Assert.Equal(name, source.Name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("x-user")]
    [InlineData("query:id")]
    [InlineData("header:")]
    [InlineData("header:x user")]
    [InlineData("cookie:a;b")]
    [InlineData("route:a/b")]
    public void HashKeySource_BadForms_FailWithTheAcceptedForms(string text)
    {
        Assert.False(HashKeySource.TryParse(text, out _, out string? problem));
        Assert.Contains("header:<name>", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigureCluster_ValidHashingCluster_PassesUnchanged()
    {
        ClusterConfig cluster = With(LockFreeLoadBalancingPolicies.Maglev,
            new() { [LockFreeClusterMetadata.HashKey] = "cookie:session", [LockFreeClusterMetadata.LoadFactor] = "1.25" },
            ("a", "http://10.0.0.1:8080", null), ("b", "https://orders.example:8443/api/", "3"));
        Assert.Same(cluster, await Filter.ConfigureClusterAsync(cluster, CancellationToken.None));
    }

    [Fact]
    public async Task ConfigureCluster_HashingWithoutKey_SaysTheKeyIsRequired()
    {
        LockFreeConfigException error = await FailsAsync(With(LockFreeLoadBalancingPolicies.ConsistentHash, null, ("a", "http://10.0.0.1:80", null)));
        Assert.Equal("orders", error.ClusterId);
        Assert.Equal(LockFreeClusterMetadata.HashKey, error.Setting);
        Assert.Contains("needs metadata 'LockFree.HashKey'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigureCluster_LoadFactorWithoutKey_SaysTheKeyIsRequired()
    {
        LockFreeConfigException error = await FailsAsync(With(LockFreeLoadBalancingPolicies.Maglev, new() { [LockFreeClusterMetadata.LoadFactor] = "1.5" }));
        Assert.Equal(LockFreeClusterMetadata.HashKey, error.Setting);
    }

    [Fact]
    public async Task ConfigureCluster_BadKeySource_NamesTheValue()
    {
        LockFreeConfigException error = await FailsAsync(With(LockFreeLoadBalancingPolicies.ConsistentHash, new() { [LockFreeClusterMetadata.HashKey] = "banana:x" }));
        Assert.Contains("'banana:x' is not a key source", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1", "above 1")]
    [InlineData("0.5", "above 1")]
    [InlineData("101", "at most 100")]
    [InlineData("1,25", "not a number")]
    [InlineData("lots", "not a number")]
    public async Task ConfigureCluster_BadLoadFactor_SaysWhatIsAccepted(string value, string expected)
    {
        LockFreeConfigException error = await FailsAsync(With(LockFreeLoadBalancingPolicies.ConsistentHash,
            new() { [LockFreeClusterMetadata.HashKey] = "client-ip", [LockFreeClusterMetadata.LoadFactor] = value }));
        Assert.Equal(LockFreeClusterMetadata.LoadFactor, error.Setting);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(LockFreeLoadBalancingPolicies.RoundRobin)]
    [InlineData(LockFreeLoadBalancingPolicies.PowerOfTwoChoices)]
    [InlineData("PowerOfTwoChoices")]
    [InlineData(null)]
    public async Task ConfigureCluster_HashKeyOnAPolicyThatDoesNotReadIt_IsRefused(string? policy)
    {
        LockFreeConfigException error = await FailsAsync(With(policy!, new() { [LockFreeClusterMetadata.HashKey] = "header:x-user" }));
        Assert.Equal(LockFreeClusterMetadata.HashKey, error.Setting);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("1001")]
    [InlineData("two")]
    public async Task ConfigureCluster_BadWeight_NamesTheDestination(string weight)
    {
        LockFreeConfigException error = await FailsAsync(With(LockFreeLoadBalancingPolicies.RoundRobin, null, ("a", "http://10.0.0.1:80", weight)));
        Assert.Contains("destination 'a'", error.Message, StringComparison.Ordinal);
        Assert.Contains("0 to 1000", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a uri")]
    [InlineData("ftp://10.0.0.1/")]
    [InlineData("http://under_score.example/")]
    public async Task ConfigureCluster_UnusableAddress_NamesIt(string address)
    {
        LockFreeConfigException error = await FailsAsync(With(LockFreeLoadBalancingPolicies.RoundRobin, null, ("a", address, null)));
        Assert.Equal("Address", error.Setting);
        Assert.Contains("destination 'a'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigureCluster_TwoDestinationsOnOneHostAndPort_PointsToWeight()
    {
        LockFreeConfigException error = await FailsAsync(With(LockFreeLoadBalancingPolicies.RoundRobin, null,
            ("a", "http://10.0.0.1:80/", null), ("b", "http://10.0.0.1/other", null)));
        Assert.Contains("LockFree.Weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigureCluster_UnresolvedKubernetesAddress_SaysToAddTheResolver()
    {
        LockFreeConfigException error = await FailsAsync(With("RoundRobin", null, ("a", "k8s://orders.shop:http", null)));
        Assert.Contains("AddKubernetesDestinations()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigureCluster_OtherPoliciesWithoutLockFreeKeys_PassUntouched()
    {
        ClusterConfig cluster = With("RoundRobin", new() { ["team"] = "orders" }, ("a", "http://10.0.0.1:80", "x"));
        Assert.Same(cluster, await Filter.ConfigureClusterAsync(cluster, CancellationToken.None));
    }
}
