using Grpc.Core;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests;

public sealed class ConfigTests
{
    [Fact]
    public void Parse_EveryInput_ReachesTheCoreOptions()
    {
        LockFreeLoadBalancingConfig config = LockFreeLoadBalancingConfig.Parse("""
            {"lockfree_consistent_hash": {"hash_header": "X-User", "load_factor": 1.25, "virtual_nodes": 200, "local_zone": "zone-b",
              "outlier_ejection": {"consecutive_failures": 7, "base_ejection_seconds": 10, "max_ejection_seconds": 60, "max_ejected_share": 0.3,
                                   "status_codes": ["UNAVAILABLE", "DEADLINE_EXCEEDED", 8]}}}
            """);

        PolicySettings settings = PolicySettings.Parse(config.PolicyName, (IDictionary<string, object>)config.Inner[config.PolicyName], new KubernetesGrpcBalancingOptions());

        Assert.Equal(("x-user", 1.25, 200, "zone-b"), (settings.HashHeader, settings.LoadFactor, settings.VirtualNodes, settings.LocalZone));
        Assert.Equal((7, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), 0.3),
            (settings.OutlierEjection!.ConsecutiveFailures, settings.OutlierEjection.BaseEjectionTime, settings.OutlierEjection.MaxEjectionTime, settings.OutlierEjection.MaxEjectedShare));
        Assert.True(settings.FailureCodes[(int)StatusCode.Unavailable]);
        Assert.True(settings.FailureCodes[(int)StatusCode.DeadlineExceeded]);
        Assert.True(settings.FailureCodes[(int)StatusCode.ResourceExhausted]);
        Assert.False(settings.FailureCodes[(int)StatusCode.Internal]);
        Assert.IsType<ConsistentHashBalancer>(settings.CreateCore());
    }

    [Fact]
    public void Parse_NoInputs_TakesTheDefaults()
    {
        var defaults = new KubernetesGrpcBalancingOptions { LocalZone = "zone-a", OutlierEjection = new OutlierEjectionOptions() };

        PolicySettings settings = PolicySettings.Parse(LockFreePolicyNames.Maglev, null, defaults);

        Assert.Equal("zone-a", settings.LocalZone);
        Assert.Same(defaults.OutlierEjection, settings.OutlierEjection);
        Assert.True(settings.FailureCodes[(int)StatusCode.Unavailable]);
        Assert.IsType<MaglevBalancer>(settings.CreateCore());
    }

    [Theory]
    [InlineData("""{"hash_headr": "x"}""", "hash_headr")]
    [InlineData("""{"load_factor": "lots"}""", "load_factor")]
    [InlineData("""{"hash_header": 3}""", "hash_header")]
    [InlineData("""{"outlier_ejection": {"status_codes": ["NOT_A_CODE"]}}""", "status_codes")]
    public void Parse_BadInput_ThrowsNamingIt(string inputs, string named)
    {
        LockFreeLoadBalancingConfig config = LockFreeLoadBalancingConfig.Parse("{\"lockfree_maglev\": " + inputs + "}");

        var thrown = Assert.Throws<InvalidOperationException>(
            () => PolicySettings.Parse(config.PolicyName, (IDictionary<string, object>)config.Inner[config.PolicyName], new KubernetesGrpcBalancingOptions()));

        Assert.Contains(named, thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFactor_NotAboveOne_CoreRejectsIt()
    {
        LockFreeLoadBalancingConfig config = new(LockFreePolicyNames.Maglev) { LoadFactor = 1.0 };
        PolicySettings settings = PolicySettings.Parse(config.PolicyName, (IDictionary<string, object>)config.Inner[config.PolicyName], new KubernetesGrpcBalancingOptions());

        Assert.Throws<ArgumentException>(settings.CreateCore);
    }

    [Fact]
    public void Factory_UnknownPolicy_Throws()
        => Assert.Throws<ArgumentException>(() => new LockFreeLoadBalancerFactory("lockfree_random"));

    [Fact]
    public void Config_FromCode_WritesTheSameInputs()
    {
        LockFreeLoadBalancingConfig config = new LockFreeLoadBalancingConfig(LockFreePolicyNames.ConsistentHash) { HashHeader = "x-user", LoadFactor = 1.5, LocalZone = "z" }
            .WithOutlierEjection(new OutlierEjectionOptions { ConsecutiveFailures = 2 }, StatusCode.Unavailable, StatusCode.Internal);

        PolicySettings settings = PolicySettings.Parse(config.PolicyName, (IDictionary<string, object>)config.Inner[config.PolicyName], new KubernetesGrpcBalancingOptions());

        Assert.Equal(("x-user", 1.5, "z", 2), (settings.HashHeader, settings.LoadFactor, settings.LocalZone, settings.OutlierEjection!.ConsecutiveFailures));
        Assert.True(settings.FailureCodes[(int)StatusCode.Internal]);
    }
}
