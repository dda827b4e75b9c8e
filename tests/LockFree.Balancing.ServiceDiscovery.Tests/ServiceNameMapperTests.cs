using LockFree.Balancing.Kubernetes;
using Microsoft.Extensions.ServiceDiscovery;
using Xunit;

namespace LockFree.Balancing.ServiceDiscovery.Tests;

/// <summary>Which ServiceDiscovery names are Services (claimed) and which pass to the other providers.</summary>
public sealed class ServiceNameMapperTests
{
    private static ServiceReference? Map(string name, string? defaultPort = null, params string[] namespaces)
    {
        Assert.True(ServiceEndpointQuery.TryParse(name, out ServiceEndpointQuery? query));
        return new ServiceNameMapper("shop", defaultPort, namespaces).TryMap(query, out _);
    }

    [Theory]
    [InlineData("http://orders.shop", "orders.shop")]
    [InlineData("http://orders", "orders.shop")]
    [InlineData("https+http://_grpc.orders.shop", "orders.shop:grpc")]
    [InlineData("_grpc.orders.billing", "orders.billing:grpc")]
    [InlineData("http://orders.shop:8443", "orders.shop")]
    [InlineData("http://orders.shop.svc", "orders.shop")]
    [InlineData("http://_http.orders.shop.svc.cluster.local", "orders.shop:http")]
    [InlineData("orders.shop.svc.corp.example.", "orders.shop")]
    public void TryMap_ServiceNames_Claimed(string name, string expected)
        => Assert.Equal(ServiceReference.Parse(expected), Map(name));

    [Theory]
    [InlineData("https://api.github.com")]
    [InlineData("http://a.b.c.d")]
    [InlineData("http://localhost")]
    [InlineData("http://localhost:5000")]
    [InlineData("http://api.localhost")]
    [InlineData("http://127.0.0.1:8080")]
    [InlineData("http://[::1]:8080")]
    [InlineData("http://10.0.0.7")]
    [InlineData("http://_Not_A_Port.orders.shop")]
    [InlineData("http://orders_v2.shop")]
    public void TryMap_OtherNames_Passed(string name) => Assert.Null(Map(name));

    [Fact]
    public void TryMap_DefaultPortName_AppliesOnlyWithoutEndpointName()
    {
        Assert.Equal(ServiceReference.Parse("orders.shop:http"), Map("http://orders.shop", "http"));
        Assert.Equal(ServiceReference.Parse("orders.shop:grpc"), Map("http://_grpc.orders.shop", "http"));
    }

    [Fact]
    public void TryMap_NamespacesConfigured_OnlyThoseTwoLabelNamesAreClaimed()
    {
        Assert.Equal(ServiceReference.Parse("orders.billing"), Map("http://orders.billing", null, "billing"));
        Assert.Equal(ServiceReference.Parse("orders.shop"), Map("http://orders.shop", null, "billing")); // the default namespace
        Assert.Null(Map("https://example.com", null, "billing"));
        Assert.Equal(ServiceReference.Parse("orders.other"), Map("http://orders.other.svc.cluster.local", null, "billing")); // explicit .svc
    }
}
