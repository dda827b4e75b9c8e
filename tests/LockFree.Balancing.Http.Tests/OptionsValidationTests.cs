using LockFree.Balancing.Kubernetes.Sharing;
using Xunit;

namespace LockFree.Balancing.Http.Tests;

/// <summary>Every option check, and that its message names the option, the value and what is accepted.</summary>
public sealed class OptionsValidationTests
{
    private static string[] Failures(Action<KubernetesBalancingOptions> configure)
    {
        var options = new KubernetesBalancingOptions();
        configure(options);
        var result = new KubernetesBalancingOptionsValidator().Validate("orders", options);
        return result.Failed ? [.. result.Failures] : [];
    }

    [Fact]
    public void Defaults_AreValid() => Assert.Empty(Failures(_ => { }));

    [Theory]
    [InlineData("DefaultNamespace", "Shop", "DefaultNamespace 'Shop' is not a DNS-1123 label")]
    [InlineData("Service", "orders.shop.example.com", "Service 'orders.shop.example.com' is not a Kubernetes Service reference")]
    [InlineData("PortName", "http_2", "PortName 'http_2' is not a Service port name")]
    [InlineData("PortName", "8080", "PortName '8080' is not a Service port name")]
    [InlineData("FallbackEndpoint", "orders", "FallbackEndpoint 'orders' is not an endpoint: use host:port")]
    [InlineData("AffinityHeader", "x user", "AffinityHeader 'x user' is not a valid name")]
    [InlineData("AffinityCookie", "", "AffinityCookie '' is not a valid name")]
    [InlineData("AffinityQueryParameter", "", "AffinityQueryParameter is empty")]
    public void TextOption_Invalid_SaysWhatIsWrong(string property, string value, string expected)
    {
        string failure = Assert.Single(Failures(o => typeof(KubernetesBalancingOptions).GetProperty(property)!.SetValue(o, value)));
        Assert.Contains(expected, failure, StringComparison.Ordinal);
        Assert.StartsWith("KubernetesBalancing (client 'orders'): ", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(100.5)]
    [InlineData(double.NaN)]
    public void LoadFactor_OutOfRange_NamesTheRange(double factor)
        => Assert.Contains("must be above 1 and at most 100", Assert.Single(Failures(o => o.LoadFactor = factor)), StringComparison.Ordinal);

    [Fact]
    public void Pickers_InTheWrongRole_AreRefused()
    {
        string[] failures = Failures(o =>
        {
            o.Picker = BalancingPicker.ConsistentHash;
            o.AffinityPicker = BalancingPicker.RoundRobin;
        });
        Assert.Equal(2, failures.Length);
        Assert.Contains("Picker 'ConsistentHash' is not accepted", failures[0], StringComparison.Ordinal);
        Assert.Contains("AffinityPicker 'RoundRobin' is not accepted: it must be ConsistentHash or Maglev", failures[1], StringComparison.Ordinal);
    }

    [Fact]
    public void OutlierEjection_OutOfRange_UsesTheCoreMessage()
    {
        string failure = Assert.Single(Failures(o => o.OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 0 }));
        Assert.Contains("ConsecutiveFailures 0 is not accepted: it must be between 1 and 1000", failure, StringComparison.Ordinal);
        Assert.Empty(Failures(o =>
        {
            o.OutlierEjectionEnabled = false;
            o.OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 0 };
        }));
    }

    [Fact]
    public void LoadMeasure_CombinationsThatCannotWork_AreRefused()
    {
        Assert.Contains("needs LoadReportHeader", Assert.Single(Failures(o => o.LoadMeasure = LoadMeasure.Reported)), StringComparison.Ordinal);
        Assert.Contains("only read with LoadMeasure Reported", Assert.Single(Failures(o => o.LoadReportHeader = "x-load")), StringComparison.Ordinal);
        Assert.Contains("applies only to the PowerOfTwoChoices picker", Assert.Single(Failures(o =>
        {
            o.Picker = BalancingPicker.RoundRobin;
            o.LoadMeasure = LoadMeasure.RequestRate;
        })), StringComparison.Ordinal);
        Assert.Contains("must be InFlight, RequestRate or Reported", Assert.Single(Failures(o => o.LoadMeasure = (LoadMeasure)7)), StringComparison.Ordinal);
        Assert.NotEmpty(Failures(o =>
        {
            o.LoadMeasure = LoadMeasure.Reported;
            o.LoadReportHeader = "x load";
        }));
        Assert.Empty(Failures(o =>
        {
            o.LoadMeasure = LoadMeasure.Reported;
            o.LoadReportHeader = "x-load";
        }));
        Assert.Empty(Failures(o => o.LoadMeasure = LoadMeasure.RequestRate));
    }

    [Fact]
    public void Transport_UnknownOrPodHandlerSettingsWithoutPodConnections_AreRefused()
    {
        Assert.Contains("Transport '9' is not accepted: it must be PodConnections or InnerHandler", Assert.Single(Failures(o => o.Transport = (BalancingTransport)9)), StringComparison.Ordinal);
        Assert.Contains("ConfigurePodHandler is set but Transport is InnerHandler", Assert.Single(Failures(o =>
        {
            o.Transport = BalancingTransport.InnerHandler;
            o.ConfigurePodHandler = _ => { };
        })), StringComparison.Ordinal);
        Assert.Empty(Failures(o => o.ConfigurePodHandler = pod => pod.ConnectTimeout = TimeSpan.FromSeconds(1)));
        Assert.Empty(Failures(o => o.Transport = BalancingTransport.InnerHandler));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(KubernetesBalancingOptions.MaxBufferedBodyBytesLimit + 1)]
    public void MaxBufferedBodyBytes_OutOfRange_NamesTheRange(int limit)
        => Assert.Contains(
            $"MaxBufferedBodyBytes {limit} is not accepted: it must be between 0 (never read the body in the handler) and 1048576",
            Assert.Single(Failures(o => o.MaxBufferedBodyBytes = limit)),
            StringComparison.Ordinal);

    [Fact]
    public void Topology_WithoutZoneOrNode_IsRefused()
    {
        Assert.Contains("Topology is set without LocalZone or LocalNode", Assert.Single(Failures(o => o.Topology = new TopologyOptions())), StringComparison.Ordinal);
        Assert.Empty(Failures(o => o.Topology = new TopologyOptions { LocalZone = "zone-a" }));
    }

    [Fact]
    public void Topology_ReachesBothBalancers()
    {
        var settings = new BalancingSettings(
            new KubernetesBalancingOptions { AffinityHeader = "x-user", Topology = new TopologyOptions { LocalZone = "zone-a" } },
            "orders");
        Endpoint[] endpoints = [new("10.0.0.1", 80, zone: "zone-a"), new("10.0.0.2", 80, zone: "zone-b"), new("10.0.0.3", 80, zone: "zone-b")];

        foreach (BalancingPicker picker in new[] { settings.Picker, settings.AffinityPicker })
        {
            LoadBalancer balancer = settings.CreateBalancer(picker, _ => { });
            balancer.Update(endpoints);
            Assert.All(Enumerable.Range(0, 50), i => Assert.Equal("zone-a", balancer.Pick($"user-{i}").Zone));
        }
    }

    [Fact]
    public void ServiceAndPortName_BothNamingAPort_AreRefused()
        => Assert.Contains("set one of them", Assert.Single(Failures(o =>
        {
            o.Service = "orders.shop:http";
            o.PortName = "grpc";
        })), StringComparison.Ordinal);

    [Fact]
    public async Task NonDiEntryPoint_InvalidOptions_ThrowsArgumentExceptionListingEveryProblem()
    {
        await using var registry = new KubernetesWatchRegistry();
        var exception = Assert.Throws<ArgumentException>(() => new KubernetesBalancing(registry, new KubernetesBalancingOptions
        {
            Picker = BalancingPicker.Maglev,
            PortName = "-x",
        }));

        Assert.Contains("Picker 'Maglev'", exception.Message, StringComparison.Ordinal);
        Assert.Contains("PortName '-x'", exception.Message, StringComparison.Ordinal);
    }
}
