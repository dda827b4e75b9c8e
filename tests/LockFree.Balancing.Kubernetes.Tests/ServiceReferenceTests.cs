using Xunit;

namespace LockFree.Balancing.Kubernetes.Tests;

public sealed class ServiceReferenceTests
{
    [Theory]
    [InlineData("web", "web", "default", null, null)]
    [InlineData("web.shop", "web", "shop", null, null)]
    [InlineData("web.shop:8080", "web", "shop", 8080, null)]
    [InlineData("web.shop:http", "web", "shop", null, "http")]
    [InlineData("web:grpc-api", "web", "default", null, "grpc-api")]
    [InlineData("kubernetes:///web.shop:8080", "web", "shop", 8080, null)]
    [InlineData("kubernetes:///web:8080", "web", "default", 8080, null)]
    [InlineData("kubernetes:///web.shop:http", "web", "shop", null, "http")]
    [InlineData("kubernetes:///web", "web", "default", null, null)]
    [InlineData("kubernetes://shop/web:8080", "web", "shop", 8080, null)]
    [InlineData("kubernetes://shop/web", "web", "shop", null, null)]
    [InlineData("kubernetes://web:8080/", "web", "default", 8080, null)]
    [InlineData("kubernetes://web.shop:8080/", "web", "shop", 8080, null)]
    [InlineData("KUBERNETES:///web.shop:1", "web", "shop", 1, null)]
    [InlineData("web.shop.svc.cluster.local:8080", "web", "shop", 8080, null)]
    [InlineData("web.shop.svc.cluster.local.:8080", "web", "shop", 8080, null)]
    [InlineData("web.shop.svc.cluster.local", "web", "shop", null, null)]
    [InlineData("web.shop.svc.corp.example:8080", "web", "shop", 8080, null)]
    [InlineData("web.shop.svc", "web", "shop", null, null)]
    [InlineData("web.shop.svc.:80", "web", "shop", 80, null)]
    [InlineData("web.shop.svc:65535", "web", "shop", 65535, null)]
    [InlineData("a.b-1:p80", "a", "b-1", null, "p80")]
    [InlineData("web.1shop", "web", "1shop", null, null)]
    public void Parse_AcceptedForm_ReturnsParts(string text, string name, string ns, int? port, string? portName)
    {
        ServiceReference reference = ServiceReference.Parse(text);

        Assert.Equal(name, reference.Name);
        Assert.Equal(ns, reference.Namespace);
        Assert.Equal(port, reference.Port);
        Assert.Equal(portName, reference.PortName);
    }

    [Theory]
    [InlineData("web", "prod")]
    [InlineData("web:80", "prod")]
    [InlineData("kubernetes:///web:80", "prod")]
    public void Parse_FormWithoutNamespace_UsesConfiguredDefault(string text, string defaultNamespace)
    {
        Assert.Equal(defaultNamespace, ServiceReference.Parse(text, defaultNamespace).Namespace);
    }

    [Fact]
    public void Parse_NamespaceGiven_IgnoresConfiguredDefault()
    {
        Assert.Equal("shop", ServiceReference.Parse("kubernetes://shop/web:80", "prod").Namespace);
        Assert.Equal("shop", ServiceReference.Parse("web.shop", "prod").Namespace);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(".shop")]
    [InlineData(":8080")]
    [InlineData(".shop:8080")]
    [InlineData("kubernetes:///")]
    [InlineData("kubernetes://")]
    [InlineData("kubernetes:///:8080")]
    [InlineData("kubernetes://shop/:8080")]
    public void Parse_NoServiceName_ThrowsMissingServiceName(string text)
    {
        var exception = Assert.Throws<ServiceReferenceFormatException>(() => ServiceReference.Parse(text));

        Assert.Equal(ServiceReferenceError.MissingServiceName, exception.Error);
        Assert.Contains("service name is missing", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dns:///web.shop:80", ServiceReferenceError.UnsupportedForm)]
    [InlineData("http://web.shop:80", ServiceReferenceError.UnsupportedForm)]
    [InlineData("web.shop.cluster.local:80", ServiceReferenceError.UnsupportedForm)]
    [InlineData("web.shop.svc..:80", ServiceReferenceError.UnsupportedForm)]
    [InlineData("web.shop.:80", ServiceReferenceError.UnsupportedForm)]
    [InlineData("web.shop:80:90", ServiceReferenceError.UnsupportedForm)]
    [InlineData("kubernetes://shop/web.other:80", ServiceReferenceError.UnsupportedForm)]
    [InlineData("kubernetes://shop/web/extra", ServiceReferenceError.UnsupportedForm)]
    [InlineData("web shop", ServiceReferenceError.UnsupportedForm)]
    [InlineData("Web.shop", ServiceReferenceError.InvalidServiceName)]
    [InlineData("1web.shop", ServiceReferenceError.InvalidServiceName)]
    [InlineData("web-.shop", ServiceReferenceError.InvalidServiceName)]
    [InlineData("we_b.shop", ServiceReferenceError.InvalidServiceName)]
    [InlineData("web.Shop", ServiceReferenceError.InvalidNamespace)]
    [InlineData("web.-shop", ServiceReferenceError.InvalidNamespace)]
    [InlineData("web.:80", ServiceReferenceError.InvalidNamespace)]
    [InlineData("web.shop:", ServiceReferenceError.InvalidPort)]
    [InlineData("web.shop:0", ServiceReferenceError.InvalidPort)]
    [InlineData("web.shop:65536", ServiceReferenceError.InvalidPort)]
    [InlineData("web.shop:0000080", ServiceReferenceError.InvalidPort)]
    [InlineData("web.shop:-1", ServiceReferenceError.InvalidPort)]
    [InlineData("web.shop:http--alt", ServiceReferenceError.InvalidPort)]
    [InlineData("web.shop:-http", ServiceReferenceError.InvalidPort)]
    [InlineData("web.shop:HTTP", ServiceReferenceError.InvalidPort)]
    [InlineData("web.shop:averyveryverylongname", ServiceReferenceError.InvalidPort)]
    public void Parse_InvalidText_ThrowsTypedErrorListingAcceptedForms(string text, ServiceReferenceError expected)
    {
        var exception = Assert.Throws<ServiceReferenceFormatException>(() => ServiceReference.Parse(text));

        Assert.Equal(expected, exception.Error);
        Assert.Equal(text, exception.Input);
        Assert.Contains(ServiceReference.AcceptedForms, exception.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<FormatException>(exception);
    }

    [Fact]
    public void Parse_NameOf64Characters_ThrowsInvalidServiceName()
    {
        string name = new('a', 64);

        var exception = Assert.Throws<ServiceReferenceFormatException>(() => ServiceReference.Parse(name + ".shop"));

        Assert.Equal(ServiceReferenceError.InvalidServiceName, exception.Error);
        Assert.Equal(new string('a', 63), ServiceReference.Parse(new string('a', 63)).Name);
    }

    [Theory]
    [InlineData("web", "web.default")]
    [InlineData("web.shop", "web.shop")]
    [InlineData("web.shop:8080", "web.shop:8080")]
    [InlineData("kubernetes:///web.shop:http", "web.shop:http")]
    [InlineData("kubernetes://shop/web:443", "web.shop:443")]
    [InlineData("web.shop.svc.cluster.local:8080", "web.shop:8080")]
    public void ToString_AnyForm_PrintsCanonicalFormThatParsesBackEqual(string text, string canonical)
    {
        ServiceReference reference = ServiceReference.Parse(text);

        Assert.Equal(canonical, reference.ToString());
        ServiceReference again = ServiceReference.Parse(reference.ToString(), "elsewhere");
        Assert.Equal(reference, again);
        Assert.Equal(reference.GetHashCode(), again.GetHashCode());
    }

    [Fact]
    public void Equals_DifferentPortOrNamespace_IsFalse()
    {
        Assert.NotEqual(ServiceReference.Parse("web.shop:80"), ServiceReference.Parse("web.shop:81"));
        Assert.NotEqual(ServiceReference.Parse("web.shop:http"), ServiceReference.Parse("web.shop"));
        Assert.NotEqual(ServiceReference.Parse("web.shop"), ServiceReference.Parse("web.prod"));
    }

    [Fact]
    public void TryParse_InvalidOrNull_ReturnsFalseWithoutThrowing()
    {
        Assert.False(ServiceReference.TryParse(null, out ServiceReference? none));
        Assert.Null(none);
        Assert.False(ServiceReference.TryParse("web.shop:0", out _));
        Assert.True(ServiceReference.TryParse("web.shop:0080", out ServiceReference? valid));
        Assert.Equal(80, valid.Port);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Prod")]
    [InlineData("a.b")]
    public void Parse_InvalidDefaultNamespace_ThrowsArgumentException(string defaultNamespace)
    {
        Assert.Throws<ArgumentException>(() => ServiceReference.Parse("web", defaultNamespace));
    }

    [Fact]
    public void Create_Parts_EqualsParsedReference()
    {
        Assert.Equal(ServiceReference.Parse("web.shop:http"), ServiceReference.Create("web", "shop", "http"));
        Assert.Throws<ServiceReferenceFormatException>(() => ServiceReference.Create("web.x", "shop"));
        Assert.Throws<ServiceReferenceFormatException>(() => ServiceReference.Create("", "shop"));
    }
}
