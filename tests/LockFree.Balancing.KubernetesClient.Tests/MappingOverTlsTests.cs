using System.Net.Http.Headers;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Authentication;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;
using static LockFree.Balancing.KubernetesClient.Tests.TestCluster;

namespace LockFree.Balancing.KubernetesClient.Tests;

/// <summary>
/// Configurations built the way KubernetesClient users build them, mapped and used against the fake API server over
/// TLS (real Kestrel on 127.0.0.1) through the adapter's own transport: token and client-certificate auth, the CA as
/// the only trust, the TLS server name, HTTP/2 unless disabled, the token provider as the adapter's credential source.
/// </summary>
public sealed class MappingOverTlsTests : IAsyncLifetime
{
    private readonly TestCertificates _certificates = TestCertificates.Create();
    private FakeApiServer _server = null!;

    public async Task InitializeAsync() => _server = await StartAsync(_certificates.Server);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _certificates.Dispose();
    }

    private static KubernetesWatcherOptions Map(KubernetesClientConfiguration configuration, bool allowInsecure = false)
    {
        KubernetesWatcherOptions options = configuration.ToWatcherOptions(allowInsecure);
        Assert.Null(options.HttpHandler); // the watch runs on the adapter's own transport, never on a handler of the mapping's
        return options;
    }

    [Fact]
    public async Task BuildConfigFromConfigFile_TokenAndClusterCa_WatchesServiceOverTls()
    {
        _server.RequiredToken = "kc-token";
        KubernetesClientConfiguration configuration = KubernetesClientConfiguration.BuildConfigFromConfigFile(
            Text(KubeConfig(_server.BaseAddress, "    token: kc-token", CertificateAuthorityData(_certificates.Authority))));

        string[] keys = await WatchAsync(_server, Map(configuration));

        Assert.Equal(WatchedKeys, keys);
        Assert.Equal("shop", configuration.Namespace);
        Assert.True(_server.Authorizations.Count >= 2); // the LIST and the WATCH
        Assert.All(_server.Authorizations, header => Assert.Equal("Bearer kc-token", header));
    }

    [Fact]
    public async Task Initializer_HostAccessTokenAndCa_WatchesService()
    {
        _server.RequiredToken = "init-token";
        var configuration = new KubernetesClientConfiguration
        {
            Host = _server.BaseAddress.AbsoluteUri,
            AccessToken = "init-token",
            SslCaCerts = [_certificates.Authority],
        };

        Assert.Equal(WatchedKeys, await WatchAsync(_server, Map(configuration)));
        Assert.All(_server.Authorizations, header => Assert.Equal("Bearer init-token", header));
    }

    [Fact]
    public async Task BuildConfigFromConfigFile_ClientCertificateData_PresentedToServer()
    {
        (string certificatePem, string keyPem) = ClientCertificate("CN=alice");
        string user = $"    client-certificate-data: {Base64(certificatePem)}\n    client-key-data: {Base64(keyPem)}";
        KubernetesClientConfiguration configuration = KubernetesClientConfiguration.BuildConfigFromConfigFile(
            Text(KubeConfig(_server.BaseAddress, user, CertificateAuthorityData(_certificates.Authority))));

        Assert.Equal(WatchedKeys, await WatchAsync(_server, Map(configuration)));
        Assert.NotEmpty(_server.ClientCertificateSubjects);
        Assert.All(_server.ClientCertificateSubjects, subject => Assert.Equal("CN=alice", subject));
        Assert.All(_server.Authorizations, header => Assert.Equal(string.Empty, header));
    }

    [Fact]
    public async Task Initializer_ClientCertificateFiles_PresentedToServer()
    {
        (string certificatePem, string keyPem) = ClientCertificate("CN=bob");
        string directory = Directory.CreateTempSubdirectory("lockfree-kc-").FullName;
        try
        {
            string certificateFile = Path.Combine(directory, "client.crt");
            string keyFile = Path.Combine(directory, "client.key");
            await File.WriteAllTextAsync(certificateFile, certificatePem);
            await File.WriteAllTextAsync(keyFile, keyPem);
            var configuration = new KubernetesClientConfiguration
            {
                Host = _server.BaseAddress.AbsoluteUri,
                SslCaCerts = [_certificates.Authority],
                ClientCertificateFilePath = certificateFile,
                ClientKeyFilePath = keyFile,
            };

            Assert.Equal(WatchedKeys, await WatchAsync(_server, Map(configuration)));
            Assert.All(_server.ClientCertificateSubjects, subject => Assert.Equal("CN=bob", subject));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task WrongCa_FailsOnOurCaCheckBeforeAnyRequest()
    {
        using var other = TestCertificates.Create();
        var configuration = new KubernetesClientConfiguration
        {
            Host = _server.BaseAddress.AbsoluteUri,
            AccessToken = "secret-token",
            SslCaCerts = [other.Authority],
        };
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, Map(configuration));

        var exception = await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));

        // The TLS handshake was refused by the validation callback (ours), so no request, and no token, reached the server.
        Assert.Contains(Chain(exception), e => e is AuthenticationException && e.Message.Contains("RemoteCertificateValidationCallback", StringComparison.Ordinal));
        Assert.Empty(_server.Requests);
        Assert.DoesNotContain("secret-token", exception.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TlsServerName_CertificateForAnotherName_VerifiedAgainstThatName()
    {
        using var named = TestCertificates.Create(subjectHost: "kube.test");
        await using FakeApiServer server = await StartAsync(named.Server);
        var withName = new KubernetesClientConfiguration { Host = server.BaseAddress.AbsoluteUri, SslCaCerts = [named.Authority], TlsServerName = "kube.test" };
        var withoutName = new KubernetesClientConfiguration { Host = server.BaseAddress.AbsoluteUri, SslCaCerts = [named.Authority] };

        Assert.Equal(WatchedKeys, await WatchAsync(server, Map(withName)));
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, Map(withoutName));
        var mismatch = await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));
        Assert.Contains(Chain(mismatch), e => e is AuthenticationException);
    }

    [Fact]
    public async Task SkipTlsVerify_ExplicitlyAllowed_AcceptsUnknownServerCertificate()
    {
        var configuration = new KubernetesClientConfiguration { Host = _server.BaseAddress.AbsoluteUri, SkipTlsVerify = true, AccessToken = "t" };

        Assert.Equal(WatchedKeys, await WatchAsync(_server, Map(configuration, allowInsecure: true)));
    }

    [Fact]
    public async Task NoCa_MachineStoreApplies_TestCaIsNotTrusted()
    {
        var configuration = new KubernetesClientConfiguration { Host = _server.BaseAddress.AbsoluteUri, AccessToken = "t" };
        KubernetesWatcherOptions options = Map(configuration);
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, options);

        await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));
        Assert.Null(options.HttpHandler); // nothing to customise: the adapter's own transport and the machine's store
        Assert.Equal("t", options.BearerToken);
    }

    [Fact]
    public async Task TokenProvider_AskedForEveryRequest_AndWinsOverAccessToken()
    {
        _server.RequiredToken = "provided";
        var provider = new CountingTokenProvider("provided");
        var configuration = new KubernetesClientConfiguration
        {
            Host = _server.BaseAddress.AbsoluteUri,
            SslCaCerts = [_certificates.Authority],
            AccessToken = "stale-access-token",
            TokenProvider = provider,
        };

        Assert.Equal(WatchedKeys, await WatchAsync(_server, Map(configuration)));
        Assert.All(_server.Authorizations, header => Assert.Equal("Bearer provided", header));
        Assert.Equal(_server.Authorizations.Count, provider.Calls);
    }

    [Fact]
    public async Task Https_Default_EveryRequestOverHttp2()
    {
        var configuration = new KubernetesClientConfiguration { Host = _server.BaseAddress.AbsoluteUri, SslCaCerts = [_certificates.Authority] };

        Assert.Equal(WatchedKeys, await WatchAsync(_server, Map(configuration)));
        Assert.NotEmpty(_server.Protocols);
        Assert.All(_server.Protocols, protocol => Assert.Equal("HTTP/2", protocol)); // the adapter's transport: HTTP/2 with pings
    }

    [Fact]
    public async Task DisableHttp2_EveryRequestOverHttp11()
    {
        var configuration = new KubernetesClientConfiguration { Host = _server.BaseAddress.AbsoluteUri, SslCaCerts = [_certificates.Authority], DisableHttp2 = true };

        Assert.Equal(WatchedKeys, await WatchAsync(_server, Map(configuration)));
        Assert.NotEmpty(_server.Protocols);
        Assert.All(_server.Protocols, protocol => Assert.Equal("HTTP/1.1", protocol));
    }

    [Fact]
    public async Task TokenProviderAndClientCertificate_BothPresented()
    {
        _server.RequiredToken = "provided";
        (string certificatePem, string keyPem) = ClientCertificate("CN=carol");
        var configuration = new KubernetesClientConfiguration
        {
            Host = _server.BaseAddress.AbsoluteUri,
            SslCaCerts = [_certificates.Authority],
            ClientCertificateData = Base64(certificatePem),
            ClientCertificateKeyData = Base64(keyPem),
            TokenProvider = new CountingTokenProvider("provided"),
        };

        Assert.Equal(WatchedKeys, await WatchAsync(_server, Map(configuration)));
        Assert.All(_server.ClientCertificateSubjects, subject => Assert.Equal("CN=carol", subject));
        Assert.All(_server.Authorizations, header => Assert.Equal("Bearer provided", header));
    }

    [Fact]
    public async Task TokenProvider_RejectedTokenThenRefreshed_AskedAgainAndWatchRecovers()
    {
        _server.RequiredToken = "fresh";
        var provider = new SequenceTokenProvider("expired", "fresh");
        var configuration = new KubernetesClientConfiguration { Host = _server.BaseAddress.AbsoluteUri, SslCaCerts = [_certificates.Authority], TokenProvider = provider };

        Assert.Equal(WatchedKeys, await WatchAsync(_server, Map(configuration)));
        Assert.Equal("Bearer expired", _server.Authorizations.First()); // rejected with 401, retried with backoff
        Assert.Equal("Bearer fresh", _server.Authorizations.Last());
        Assert.True(provider.Calls >= 3); // the rejected LIST, its retry, the WATCH
    }

    [Fact]
    public async Task TokenProvider_NonBearerScheme_FailsWithoutSendingIt()
    {
        var configuration = new KubernetesClientConfiguration { Host = _server.BaseAddress.AbsoluteUri, SslCaCerts = [_certificates.Authority], TokenProvider = new BasicTokenProvider() };
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, Map(configuration));

        var exception = await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));

        Assert.Contains("scheme 'Basic'", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("dXNlcjpwYXNz", exception.ToString(), StringComparison.Ordinal);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task TokenFileAuth_AsInClusterConfigUsesIt_SendsTheFilesToken()
    {
        _server.RequiredToken = "from-file";
        string file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "from-file\n");
            var configuration = new KubernetesClientConfiguration { Host = _server.BaseAddress.AbsoluteUri, SslCaCerts = [_certificates.Authority], TokenProvider = new TokenFileAuth(file) };

            Assert.Equal(WatchedKeys, await WatchAsync(_server, Map(configuration)));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task TokenProviderThrows_SyncFailsWithProviderNamed_WithoutRequest()
    {
        var configuration = new KubernetesClientConfiguration { Host = _server.BaseAddress.AbsoluteUri, SslCaCerts = [_certificates.Authority], TokenProvider = new FailingTokenProvider() };
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, Map(configuration));

        var exception = await Assert.ThrowsAnyAsync<Exception>(() => watcher.SyncOnceAsync(Limit()));

        Assert.Contains("FailingTokenProvider failed: refresh token expired", exception.ToString(), StringComparison.Ordinal);
        Assert.Empty(_server.Requests);
    }

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }

    private sealed class CountingTokenProvider(string token) : ITokenProvider
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task<AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult(new AuthenticationHeaderValue("Bearer", token));
        }
    }

    private sealed class SequenceTokenProvider(params string[] tokens) : ITokenProvider
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task<AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellationToken)
        {
            int call = Interlocked.Increment(ref _calls);
            return Task.FromResult(new AuthenticationHeaderValue("Bearer", tokens[Math.Min(call, tokens.Length) - 1]));
        }
    }

    private sealed class BasicTokenProvider : ITokenProvider
    {
        public Task<AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellationToken)
            => Task.FromResult(new AuthenticationHeaderValue("Basic", "dXNlcjpwYXNz"));
    }

    private sealed class FailingTokenProvider : ITokenProvider
    {
        public Task<AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellationToken)
            => Task.FromException<AuthenticationHeaderValue>(new InvalidOperationException("refresh token expired"));
    }
}
