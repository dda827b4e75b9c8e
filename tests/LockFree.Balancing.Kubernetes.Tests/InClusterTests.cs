using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests;

/// <summary>In-cluster settings and TLS against the cluster CA, with Kestrel serving HTTPS on 127.0.0.1.</summary>
public sealed class InClusterTests : IDisposable
{
    private static readonly ServiceReference Web = ServiceReference.Parse("web.shop:http");
    private readonly string _directory = Directory.CreateTempSubdirectory("lockfree-sa-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static CancellationToken Limit() => new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token;

    [Fact]
    public void InCluster_EnvironmentAndDirectory_BuildHttpsOptions()
    {
        var env = new Dictionary<string, string> { ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1", ["KUBERNETES_SERVICE_PORT"] = "443" };

        KubernetesWatcherOptions options = KubernetesWatcherOptions.InCluster(name => env.GetValueOrDefault(name), _directory);

        Assert.Equal(new Uri("https://10.96.0.1:443/"), options.ApiServer);
        Assert.Equal(Path.Combine(_directory, "token"), options.BearerTokenFile);
        Assert.Equal(Path.Combine(_directory, "ca.crt"), options.CertificateAuthorityFile);
    }

    [Fact]
    public void InCluster_IPv6Host_IsBracketed()
    {
        var env = new Dictionary<string, string> { ["KUBERNETES_SERVICE_HOST"] = "fd00::1", ["KUBERNETES_SERVICE_PORT"] = "6443" };

        Assert.Equal("https://[fd00::1]:6443/", KubernetesWatcherOptions.InCluster(name => env.GetValueOrDefault(name), _directory).ApiServer.AbsoluteUri);
    }

    [Fact]
    public void InCluster_NotInAPod_ThrowsClearError()
    {
        var exception = Assert.Throws<InvalidOperationException>(() => KubernetesWatcherOptions.InCluster(_ => null, _directory));

        Assert.Contains("KUBERNETES_SERVICE_HOST", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadServiceAccountNamespace_File_ReturnsTrimmedNamespace()
    {
        Assert.Null(KubernetesWatcherOptions.ReadServiceAccountNamespace(_directory));
        File.WriteAllText(Path.Combine(_directory, "namespace"), "shop\n");

        Assert.Equal("shop", KubernetesWatcherOptions.ReadServiceAccountNamespace(_directory));
    }

    [Fact]
    public void Constructor_MissingCaFile_ThrowsArgumentException()
    {
        var options = new KubernetesWatcherOptions { ApiServer = new Uri("https://127.0.0.1:1/"), CertificateAuthorityFile = Path.Combine(_directory, "ca.crt") };

        Assert.Throws<ArgumentException>(() => new KubernetesEndpointWatcher(Web, _ => { }, options));
    }

    [Fact]
    public async Task Watcher_HttpsWithClusterCa_ConvergesAndSendsToken()
    {
        using var certificates = TestCertificates.Create();
        await using FakeApiServer server = await FakeApiServer.StartAsync(certificates.Server);
        server.SetList("10", Slice("web-a", "9", "IPv4", HttpPort(8080), Endpoint("10.0.0.1")));
        server.RequiredToken = "pod-token";
        File.WriteAllText(Path.Combine(_directory, "token"), "pod-token");
        File.WriteAllText(Path.Combine(_directory, "ca.crt"), certificates.Authority.ExportCertificatePem());
        var env = new Dictionary<string, string> { ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1", ["KUBERNETES_SERVICE_PORT"] = server.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        KubernetesWatcherOptions options = KubernetesWatcherOptions.InCluster(name => env.GetValueOrDefault(name), _directory);
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, options);

        watcher.StartBackgroundSync();
        await server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        Assert.Equal(["10.0.0.1:8080"], watcher.Endpoints.Select(e => e.Key));
        Assert.StartsWith("https://", server.BaseAddress.AbsoluteUri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watcher_HttpsWithOtherCa_RefusesServerAndRecordsTlsError()
    {
        using var certificates = TestCertificates.Create();
        using var stranger = TestCertificates.Create();
        await using FakeApiServer server = await FakeApiServer.StartAsync(certificates.Server);
        server.SetList("10", Slice("web-a", "9", "IPv4", HttpPort(8080), Endpoint("10.0.0.1")));
        string caFile = Path.Combine(_directory, "ca.crt");
        File.WriteAllText(caFile, stranger.Authority.ExportCertificatePem());
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, new KubernetesWatcherOptions
        {
            ApiServer = new Uri($"https://127.0.0.1:{server.BaseAddress.Port}/"),
            CertificateAuthorityFile = caFile,
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            MaxBackoff = TimeSpan.FromMilliseconds(50),
        });

        var exception = await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));

        Assert.Null(exception.StatusCode);
        Assert.Contains("SSL", exception.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(server.Requests);
        Assert.Empty(watcher.Endpoints);
    }

    [Fact]
    public async Task Watcher_HttpsWithoutCaOption_UsesMachineTrustAndRefusesSelfSignedCluster()
    {
        using var certificates = TestCertificates.Create();
        await using FakeApiServer server = await FakeApiServer.StartAsync(certificates.Server);
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, new KubernetesWatcherOptions { ApiServer = new Uri($"https://127.0.0.1:{server.BaseAddress.Port}/") });

        await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));

        Assert.Empty(server.Requests);
    }
}
