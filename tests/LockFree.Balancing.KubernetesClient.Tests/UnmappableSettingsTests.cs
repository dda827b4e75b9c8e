using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Authentication;
using k8s.KubeConfigModels;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;
using static LockFree.Balancing.KubernetesClient.Tests.TestCluster;

namespace LockFree.Balancing.KubernetesClient.Tests;

/// <summary>Settings that cannot be mapped, or are unusable, fail at once with the field named and what is accepted.</summary>
public sealed class UnmappableSettingsTests
{
    private const string Https = "https://127.0.0.1:6443/";

    private static KubernetesClientConfigurationException Refused(KubernetesClientConfiguration configuration, string field, string expected, bool allowInsecure = false)
    {
        var exception = Assert.Throws<KubernetesClientConfigurationException>(() => configuration.ToWatcherOptions(allowInsecure));
        Assert.Equal(field, exception.Field);
        Assert.StartsWith($"KubernetesClientConfiguration.{field}: ", exception.Message, StringComparison.Ordinal);
        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
        return exception;
    }

    [Fact]
    public void ToWatcherOptions_NullConfiguration_Throws()
        => Assert.Throws<ArgumentNullException>(() => ((KubernetesClientConfiguration)null!).ToWatcherOptions());

    [Theory]
    [InlineData(null, "is not set")]
    [InlineData("   ", "is not set")]
    [InlineData("not a url", "is not an absolute http or https URL")]
    [InlineData("ftp://10.0.0.1/", "is not an absolute http or https URL")]
    public void Host_MissingOrNotHttp_Refused(string? host, string expected)
        => Refused(new KubernetesClientConfiguration { Host = host! }, "Host", expected);

    [Fact]
    public void Username_BasicAuth_Refused()
        => Refused(new KubernetesClientConfiguration { Host = Https, Username = "admin", Password = "secret" }, "Username", "basic authentication was removed");

    [Fact]
    public void Password_Alone_Refused()
        => Refused(new KubernetesClientConfiguration { Host = Https, Password = "secret" }, "Password", "use AccessToken, a TokenProvider or a client certificate");

    [Fact]
    public void FirstMessageHandlerSetup_Set_Refused()
        => Refused(new KubernetesClientConfiguration { Host = Https, FirstMessageHandlerSetup = _ => { } }, "FirstMessageHandlerSetup", "could switch off the CA check");

    [Fact]
    public void TokenProvider_ExecTokenProvider_RefusedPointingToKubeConfig()
    {
        var exec = new ExternalExecution { ApiVersion = "client.authentication.k8s.io/v1", Command = "aws" };

        Refused(new KubernetesClientConfiguration { Host = Https, TokenProvider = new ExecTokenProvider(exec) }, "TokenProvider", "KubeConfig.Load()");
    }

    [Fact]
    public void SkipTlsVerify_NotAllowed_Refused()
        => Refused(new KubernetesClientConfiguration { Host = Https, SkipTlsVerify = true }, "SkipTlsVerify", "pass allowInsecureSkipTlsVerify: true");

    [Fact]
    public void SkipTlsVerify_WithCa_RefusedEvenWhenAllowed()
    {
        using var certificates = TestCertificates.Create();

        Refused(new KubernetesClientConfiguration { Host = Https, SkipTlsVerify = true, SslCaCerts = [certificates.Authority] }, "SkipTlsVerify", "set one", allowInsecure: true);
    }

    [Fact]
    public void SkipTlsVerify_OnPlainHttp_NothingToSkip()
    {
        KubernetesWatcherOptions options = new KubernetesClientConfiguration { Host = "http://127.0.0.1:8001", SkipTlsVerify = true }.ToWatcherOptions();

        Assert.False(options.InsecureSkipTlsVerify);
        Assert.Null(options.HttpHandler);
    }

    [Fact]
    public void SslCaCerts_Empty_RefusedRatherThanTrustingTheMachineStore()
        => Refused(new KubernetesClientConfiguration { Host = Https, SslCaCerts = [] }, "SslCaCerts", "holds no certificate");

    [Fact]
    public void ClientCertificateData_WithoutKey_Refused()
    {
        (string certificatePem, _) = ClientCertificate("CN=alice");

        Refused(new KubernetesClientConfiguration { Host = Https, ClientCertificateData = Base64(certificatePem) }, "ClientCertificateKeyData", "needs both ClientCertificateData and ClientCertificateKeyData");
    }

    [Fact]
    public void ClientCertificateData_NotBase64_Refused()
        => Refused(new KubernetesClientConfiguration { Host = Https, ClientCertificateData = "%%%", ClientCertificateKeyData = "%%%" }, "ClientCertificateData", "is not valid base64");

    [Fact]
    public void ClientCertificateData_KeyOfAnotherCertificate_Refused()
    {
        (string certificatePem, _) = ClientCertificate("CN=alice");
        (_, string otherKey) = ClientCertificate("CN=mallory");

        var exception = Refused(
            new KubernetesClientConfiguration { Host = Https, ClientCertificateData = Base64(certificatePem), ClientCertificateKeyData = Base64(otherKey) },
            "ClientCertificateData",
            "not a matching PEM certificate and private key");
        Assert.DoesNotContain("PRIVATE KEY", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ClientKeyFilePath_Missing_Refused()
        => Refused(new KubernetesClientConfiguration { Host = Https, ClientCertificateFilePath = "/nonexistent/client.crt" }, "ClientKeyFilePath", "needs both ClientCertificateFilePath and ClientKeyFilePath");

    [Fact]
    public void ClientCertificateFilePath_Unreadable_Refused()
        => Refused(new KubernetesClientConfiguration { Host = Https, ClientCertificateFilePath = "/nonexistent/client.crt", ClientKeyFilePath = "/nonexistent/client.key" }, "ClientCertificateFilePath", "cannot be read");

    [Fact]
    public void ClientCertificate_OnPlainHttp_Refused()
    {
        (string certificatePem, string keyPem) = ClientCertificate("CN=alice");

        Refused(new KubernetesClientConfiguration { Host = "http://127.0.0.1:8001", ClientCertificateData = Base64(certificatePem), ClientCertificateKeyData = Base64(keyPem) }, "ClientCertificateData", "is plain http");
    }

    [Fact]
    public void TlsServerName_NotAHostName_Refused()
        => Refused(new KubernetesClientConfiguration { Host = Https, TlsServerName = "not a name" }, "TlsServerName", "is not a host name");

    [Fact]
    public void PlainHttpWithToken_KubectlProxyStyle_NoHandlerNeeded()
    {
        KubernetesWatcherOptions options = new KubernetesClientConfiguration { Host = "http://127.0.0.1:8001", AccessToken = "t", HttpClientTimeout = TimeSpan.FromSeconds(5) }.ToWatcherOptions();

        Assert.Equal(new Uri("http://127.0.0.1:8001/"), options.ApiServer);
        Assert.Equal("t", options.BearerToken);
        Assert.Null(options.HttpHandler);
        Assert.Equal(TimeSpan.FromSeconds(290), options.WatchTimeout); // HttpClientTimeout does not cut watches short
    }

    [Fact]
    public void SkipTlsVerify_Allowed_OnlyThenTurnsVerificationOff()
    {
        KubernetesWatcherOptions options = new KubernetesClientConfiguration { Host = Https, SkipTlsVerify = true }.ToWatcherOptions(allowInsecureSkipTlsVerify: true);
        KubernetesWatcherOptions verified = new KubernetesClientConfiguration { Host = Https }.ToWatcherOptions(allowInsecureSkipTlsVerify: true);

        Assert.True(options.InsecureSkipTlsVerify);
        Assert.False(verified.InsecureSkipTlsVerify); // allowing is not asking
    }

    [Fact]
    public void ToWatcherOptions_CalledTwice_IndependentOptions()
    {
        using var certificates = TestCertificates.Create();
        using var other = TestCertificates.Create();
        var configuration = new KubernetesClientConfiguration { Host = Https, SslCaCerts = new X509Certificate2Collection(certificates.Authority) };

        KubernetesWatcherOptions first = configuration.ToWatcherOptions();
        configuration.SslCaCerts.Add(other.Authority); // the application changes its collection afterwards
        KubernetesWatcherOptions second = configuration.ToWatcherOptions();

        Assert.NotSame(first, second);
        Assert.Null(first.HttpHandler);
        Assert.Equal([certificates.Authority.Thumbprint], first.CertificateAuthorities!.Select(c => c.Thumbprint));
        Assert.Equal(2, second.CertificateAuthorities!.Count);
    }

    [Fact]
    public void ToWatcherOptions_MappedTokenProviderWithBearerTokenAdded_RefusedByTheWatcher()
    {
        KubernetesWatcherOptions options = new KubernetesClientConfiguration { Host = Https, TokenProvider = new FixedTokenProvider() }.ToWatcherOptions();
        options.BearerToken = "another";

        var exception = Assert.Throws<ArgumentException>(() => new KubernetesEndpointWatcher(Web, _ => { }, options));

        Assert.Contains("TokenProvider", exception.Message, StringComparison.Ordinal);
    }

    private sealed class FixedTokenProvider : ITokenProvider
    {
        public Task<System.Net.Http.Headers.AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellationToken)
            => Task.FromResult(new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "t"));
    }
}
