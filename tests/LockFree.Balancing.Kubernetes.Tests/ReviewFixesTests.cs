using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using LockFree.Balancing.Kubernetes.Api;
using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests;

/// <summary>Points from an earlier review: connect timeouts, non-410 stale-version errors, the client-side watch lifetime, server EKU.</summary>
public sealed class ReviewFixesTests : IAsyncLifetime
{
    private static readonly ServiceReference Web = ServiceReference.Parse("kubernetes:///web.shop:http");
    private FakeApiServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeApiServer.StartAsync();
        _server.SetList("100", Slice("web-a", "90", "IPv4", HttpPort(8080), Endpoint("10.0.0.1")));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static CancellationToken Limit() => new CancellationTokenSource(TimeSpan.FromSeconds(15)).Token;

    private KubernetesWatcherOptions Options() => new()
    {
        ApiServer = _server.BaseAddress,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(5),
        Random = new Random(11),
    };

    [Fact]
    public async Task ConnectTimeout_SurfacingAsTaskCanceled_IsATransportErrorNotShutdown()
    {
        using var handler = new ConnectTimeoutHandler();
        KubernetesWatcherOptions options = Options();
        options.HttpHandler = handler;
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, options);

        var exception = await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));
        watcher.StartBackgroundSync();
        KubernetesWatchStatus status = await watcher.WaitForStatusAsync(s => s.ConsecutiveFailures >= 3, Limit());

        Assert.IsType<TaskCanceledException>(exception.InnerException);
        Assert.Contains("the connection failed: connect timed out", exception.Message, StringComparison.Ordinal);
        Assert.Contains("the connection failed", status.LastError!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected", status.LastError.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(504, "Timeout", "Too large resource version: 300, current: 200")]
    [InlineData(500, "Expired", "the resourceVersion expired")]
    public async Task InStreamStaleVersionError_NotCode410_Relists(int code, string reason, string message)
    {
        KubernetesWatcherOptions options = Options();
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, options);
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        _server.SetList("200", Slice("web-a", "150", "IPv4", HttpPort(8080), Endpoint("10.0.0.2")));
        first.Send("{\"type\":\"ERROR\",\"object\":" + Status(code, reason, message) + "}");
        KubernetesWatchStatus status = await watcher.WaitForStatusAsync(s => s.ListCount == 2, Limit());
        WatchConnection second = await _server.NextWatchAsync();

        Assert.Equal("200", second.ResourceVersion); // from the fresh LIST, never the stale one again
        Assert.Equal(code, status.LastError!.StatusCode);
        Assert.Equal(["10.0.0.2:8080"], watcher.Endpoints.Select(e => e.Key));
    }

    [Fact]
    public async Task WatchOutlivingTimeoutSeconds_IsEndedByTheClientWithoutAnError()
    {
        KubernetesWatcherOptions options = Options();
        options.WatchTimeout = TimeSpan.FromSeconds(1);
        options.IdleTimeout = TimeSpan.FromSeconds(30);
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, options);
        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        // The fake server ignores timeoutSeconds=1 and keeps the stream open: the client must end it.
        first.Send(Bookmark("101"));
        WatchConnection second = await _server.NextWatchAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("1", first.Query["timeoutSeconds"]);
        Assert.Equal("101", second.ResourceVersion);
        Assert.Null(watcher.Status.LastError);
        Assert.Equal(TimeSpan.FromSeconds(1.1), KubernetesEndpointWatcher.MaxWatchLifetime(TimeSpan.FromSeconds(1)));
        Assert.Equal(TimeSpan.FromSeconds(290 + 29), KubernetesEndpointWatcher.MaxWatchLifetime(TimeSpan.FromSeconds(290)));
        Assert.Equal(TimeSpan.FromMinutes(61), KubernetesEndpointWatcher.MaxWatchLifetime(TimeSpan.FromHours(1)));
    }

    [Fact]
    public void CaValidation_ServerCertificateWithoutServerAuthUsage_IsRefused()
    {
        // Kestrel will not even serve such a certificate, so the validator is asked directly.
        using var clientOnly = TestCertificates.Create(serverAuthentication: false);
        using var proper = TestCertificates.Create();

        Assert.False(CertificateAuthorityValidator.Validate([clientOnly.Authority], clientOnly.Server, SslPolicyErrors.None));
        Assert.True(CertificateAuthorityValidator.Validate([proper.Authority], proper.Server, SslPolicyErrors.None));
        Assert.False(CertificateAuthorityValidator.Validate([proper.Authority], proper.Server, SslPolicyErrors.RemoteCertificateNameMismatch));
    }

    [Fact]
    public void CaValidation_IntermediateInBundle_CompletesTheChain()
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using ECDsa rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest("CN=root", rootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        rootRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using X509Certificate2 root = rootRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddHours(1));

        using ECDsa intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var intermediateRequest = new CertificateRequest("CN=intermediate", intermediateKey, HashAlgorithmName.SHA256);
        intermediateRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        intermediateRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using X509Certificate2 intermediatePublic = intermediateRequest.Create(root, now.AddMinutes(-5), now.AddHours(1), [9, 9]);
        using X509Certificate2 intermediate = intermediatePublic.CopyWithPrivateKey(intermediateKey);

        using ECDsa leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=kube-apiserver", leafKey, HashAlgorithmName.SHA256);
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using X509Certificate2 leaf = leafRequest.Create(intermediate, now.AddMinutes(-5), now.AddHours(1), [7, 7]);
        using X509Certificate2 intermediateOnly = X509CertificateLoader.LoadCertificate(intermediatePublic.RawData);

        Assert.True(CertificateAuthorityValidator.Validate([root, intermediateOnly], leaf, SslPolicyErrors.None));
        Assert.False(CertificateAuthorityValidator.Validate([root], leaf, SslPolicyErrors.None));
    }

    [Fact]
    public async Task NumericPortInNoSlice_StatusSaysSoInsteadOfSilentEmptiness_AndClearsWhenFixed()
    {
        var service = ServiceReference.Parse("kubernetes:///web.shop:8081");
        await using var watcher = new KubernetesEndpointWatcher(service, _ => { }, Options());
        watcher.StartBackgroundSync();
        WatchConnection watch = await _server.NextWatchAsync();
        KubernetesWatchStatus missing = await watcher.WaitForStatusAsync(s => s.PortDiagnostic is not null, Limit());

        watch.Send(Event("MODIFIED", Slice("web-a", "101", "IPv4", "[{\"name\":\"alt\",\"port\":8081}]", Endpoint("10.0.0.1"))));
        KubernetesWatchStatus fixedStatus = await watcher.WaitForStatusAsync(s => s.PortDiagnostic is null, Limit());

        // The scripted server has no Service to map port 8081 through: the diagnostic says that too.
        Assert.StartsWith("no EndpointSlice of web.shop offers port 8081; ports offered: http=8080, metrics=9090. Their endpoints are left out. Mapping it through the Service failed: ", missing.PortDiagnostic, StringComparison.Ordinal);
        Assert.Equal(["10.0.0.1:8081"], watcher.Endpoints.Select(e => e.Key));
        Assert.Equal(2, fixedStatus.Version);
    }

    [Fact]
    public void Merge_SomeSlicesLackNamedPort_DiagnosticCountsThem()
    {
        var set = new LockFree.Balancing.Kubernetes.Slices.EndpointSliceSet();
        var parse = new LockFree.Balancing.Kubernetes.Watch.Utf8StringCache();
        foreach (string slice in new[] { Slice("a", "1", "IPv4", HttpPort(8080), Endpoint("10.0.0.1")), Slice("b", "1", "IPv4", Ports("grpc", 7000), Endpoint("10.0.0.2")) })
        {
            set.Upsert(LockFree.Balancing.Kubernetes.Watch.KubernetesJson.ParseWatchEvent(System.Text.Encoding.UTF8.GetBytes(Event("ADDED", slice)), parse).Slice!);
        }

        var merged = set.Merge(Web, new LockFree.Balancing.Kubernetes.Slices.MergeSettings(AddressFamilyPreference.PreferIPv4, UseTerminatingWhenNoneReady: false));

        Assert.Equal(["10.0.0.1:8080"], merged.Endpoints.Select(e => e.Key));
        Assert.Equal("1 of 2 EndpointSlices do not offer a port named 'http' for web.shop; ports offered: grpc=7000, http=8080, metrics=9090. Their endpoints are left out.", merged.PortDiagnostic);
    }

    /// <summary>Fails every request the way SocketsHttpHandler reports an elapsed ConnectTimeout.</summary>
    private sealed class ConnectTimeoutHandler : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            => Task.FromException<HttpResponseMessage>(new TaskCanceledException("The operation was canceled.", new TimeoutException("connect timed out")));
    }
}
