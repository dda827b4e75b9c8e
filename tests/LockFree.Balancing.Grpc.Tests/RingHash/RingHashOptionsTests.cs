using LockFree.Balancing.Grpc.RingHash;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests.RingHash;

public sealed class RingHashOptionsTests
{
    [Fact]
    public void FromJson_ServiceConfig_ReadsAllFields()
    {
        var options = RingHashOptions.FromJson("""{"loadBalancingConfig":[{"pick_first":{}},{"ring_hash":{"minRingSize":1024,"maxRingSize":8388608,"requestHashHeader":"X-User"}}]}""");

        Assert.Equal(1024, options.MinRingSize);
        Assert.Equal(8388608, options.MaxRingSize);
        Assert.Equal("x-user", options.RequestHashHeader);
        Assert.Equal(1024, options.EffectiveMinRingSize);
        Assert.Equal(4096, options.EffectiveMaxRingSize);
    }

    [Fact]
    public void FromJson_EmptyPolicy_DefaultsOfA42CappedAsGrpcGo()
    {
        var options = RingHashOptions.FromJson("""{"loadBalancingConfig":[{"ring_hash":{}}]}""");

        Assert.Equal((1024L, 8388608L, 4096L, (string?)null), (options.MinRingSize, options.MaxRingSize, options.RingSizeCap, options.RequestHashHeader));
        Assert.Equal((1024L, 4096L), (options.EffectiveMinRingSize, options.EffectiveMaxRingSize));
    }

    [Fact]
    public void FromJson_BareObjectUInt64AsStringAndZero_DefaultsAndParses()
    {
        // Protobuf JSON writes uint64 as a string; 0 means "default" as in grpc-go.
        var options = RingHashOptions.FromJson("""{"minRingSize":"2048","maxRingSize":0}""");

        Assert.Equal((2048L, RingHashOptions.DefaultMaxRingSize), (options.MinRingSize, options.MaxRingSize));
    }

    [Theory]
    [InlineData("""{"minRingSize":2000,"maxRingSize":1000}""", "minRingSize", "greater than maxRingSize")]
    [InlineData("""{"maxRingSize":8388609}""", "maxRingSize", "between 1 and 8388608")]
    [InlineData("""{"minRingSize":8388609}""", "minRingSize", "between 1 and 8388608")]
    [InlineData("""{"minRingSize":-1}""", "minRingSize", "out of range")]
    [InlineData("""{"requestHashHeader":"x user"}""", "requestHashHeader", "not a valid header name")]
    [InlineData("""{"requestHashHeader":":path"}""", "requestHashHeader", "not a valid header name")]
    [InlineData("""{"requestHashHeader":"x-user-bin"}""", "requestHashHeader", "binary header")]
    [InlineData("""{"requestHashHeader":5}""", "requestHashHeader", "must be a string")]
    [InlineData("""{"minRingSize":"many"}""", null, "non-negative integer")]
    public void FromJson_Invalid_TypedErrorNamingTheField(string json, string? field, string message)
    {
        var ex = Assert.Throws<RingHashConfigurationException>(() => RingHashOptions.FromJson(json));

        Assert.Equal(field, ex.Field);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_NoRingHashEntry_Throws()
    {
        var ex = Assert.Throws<RingHashConfigurationException>(() => RingHashOptions.FromJson("""{"loadBalancingConfig":[{"round_robin":{}}]}"""));

        Assert.Contains("no \"ring_hash\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_Malformed_Throws()
    {
        Assert.Throws<RingHashConfigurationException>(() => RingHashOptions.FromJson("{"));
    }

    [Fact]
    public void ToLoadBalancingConfig_RoundTrip_SameOptions()
    {
        var options = new RingHashOptions { MinRingSize = 100, MaxRingSize = 200, RequestHashHeader = "x-user" };

        var config = options.ToLoadBalancingConfig();
        var back = new RingHashOptions().WithConfiguration((IDictionary<string, object>)config.Inner["ring_hash"]);

        Assert.Equal("ring_hash", config.PolicyName);
        Assert.Equal((100L, 200L, "x-user"), (back.MinRingSize, back.MaxRingSize, back.RequestHashHeader));
    }

    [Fact]
    public void WithConfiguration_CodeDefaults_ServiceConfigOverridesFieldByField()
    {
        var defaults = new RingHashOptions { RequestHashHeader = "x-tenant", RingSizeCap = RingHashOptions.RingSizeUpperBound };

        var merged = defaults.WithConfiguration(new Dictionary<string, object> { ["maxRingSize"] = 65536 });

        Assert.Equal(("x-tenant", 1024L, 65536L), (merged.RequestHashHeader, merged.EffectiveMinRingSize, merged.EffectiveMaxRingSize));
    }

    [Fact]
    public void Factory_InvalidCodeOptions_Throws()
    {
        Assert.Throws<RingHashConfigurationException>(() => new RingHashLoadBalancerFactory(new RingHashOptions { MinRingSize = 10, MaxRingSize = 5 }));
    }

    [Fact]
    public void Factory_Parameterless_NameIsRingHash()
    {
        Assert.Equal("ring_hash", new RingHashLoadBalancerFactory().Name);
    }
}
