using LockFree.Balancing.Yarp.Kubernetes;
using Xunit;

namespace LockFree.Balancing.Yarp.Tests;

public sealed class KubernetesDestinationAddressTests
{
    [Theory]
    [InlineData("k8s://orders.shop:http", "orders.shop:http", "http", "")]
    [InlineData("k8s://orders:8080/api/", "orders.apps:8080", "http", "/api/")]
    [InlineData("K8S+HTTPS://orders.shop.svc.cluster.local:https?x=1", "orders.shop:https", "https", "?x=1")]
    [InlineData("k8s://orders.shop", "orders.shop", "http", "")]
    public void TryParse_AcceptedForms_NameTheServiceSchemeAndPath(string text, string service, string scheme, string path)
    {
        Assert.True(KubernetesDestinationAddress.TryParse(text, "apps", out KubernetesDestinationAddress? address, out _));
        Assert.Equal(service, address.Service.ToString());
        Assert.Equal(scheme, address.Scheme);
        Assert.Equal(path, address.PathAndQuery);
    }

    [Theory]
    [InlineData("k8s://")]
    [InlineData("k8s://Orders.shop")]
    [InlineData("k8s://orders.shop:toolongportname1")]
    [InlineData("http://orders.shop")]
    public void TryParse_BadForms_FailWithTheAcceptedForms(string text)
    {
        Assert.False(KubernetesDestinationAddress.TryParse(text, "apps", out _, out string? problem));
        Assert.Contains("k8s://name.namespace", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void For_Ipv6Pod_BracketsTheHost()
    {
        Assert.True(KubernetesDestinationAddress.TryParse("k8s://orders.shop:http/v1", "apps", out KubernetesDestinationAddress? address, out _));
        Assert.Equal("http://[fd00::7]:8080/v1", address.For(new Endpoint("fd00::7", 8080)));
        Assert.Equal("http://10.0.0.7:8080/v1", address.For(new Endpoint("10.0.0.7", 8080)));
    }

    [Theory]
    [InlineData("k8s://a.b", true)]
    [InlineData("k8s+https://a.b", true)]
    [InlineData("https://a.b", false)]
    [InlineData(null, false)]
    public void IsKubernetes_OnlyTheTwoPrefixes(string? address, bool expected) => Assert.Equal(expected, KubernetesDestinationAddress.IsKubernetes(address));
}
