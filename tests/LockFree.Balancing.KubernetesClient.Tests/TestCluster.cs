using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.KubernetesClient.Tests;

/// <summary>Shared set-up: the fake API server (TLS on 127.0.0.1) with one Service, kubeconfig texts and certificates.</summary>
internal static class TestCluster
{
    public static readonly ServiceReference Web = ServiceReference.Parse("kubernetes:///web.shop:http");

    public static CancellationToken Limit() => new CancellationTokenSource(TimeSpan.FromSeconds(15)).Token;

    public static async Task<FakeApiServer> StartAsync(X509Certificate2? tls)
    {
        FakeApiServer server = await FakeApiServer.StartAsync(tls);
        server.SetList("10", Slice("web-a", "9", "IPv4", HttpPort(8080), Endpoint("10.0.0.1"), Endpoint("10.0.0.2")));
        return server;
    }

    /// <summary>Watches <see cref="Web"/> in the background until the LIST is published, then sees a watch event apply; returns the endpoint keys.</summary>
    public static async Task<string[]> WatchAsync(FakeApiServer server, KubernetesWatcherOptions options)
    {
        options.InitialBackoff = TimeSpan.FromMilliseconds(10);
        options.MaxBackoff = TimeSpan.FromMilliseconds(50);
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, options);
        watcher.StartBackgroundSync();
        await watcher.WaitForVersionAsync(1, Limit());
        WatchConnection watch = await server.NextWatchAsync();
        watch.Send(Event("MODIFIED", Slice("web-a", "11", "IPv4", HttpPort(8080), Endpoint("10.0.0.1"), Endpoint("10.0.0.2"), Endpoint("10.0.0.3"))));
        await watcher.WaitForVersionAsync(2, Limit());
        return [.. watcher.Endpoints.Select(e => e.Key).Order(StringComparer.Ordinal)];
    }

    public static readonly string[] WatchedKeys = ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"];

    public static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    public static string KubeConfig(Uri server, string user, string cluster = "")
        => $$"""
           apiVersion: v1
           kind: Config
           current-context: dev
           clusters:
           - name: c1
             cluster:
               server: {{server.AbsoluteUri}}
           {{cluster}}
           contexts:
           - name: dev
             context:
               cluster: c1
               user: u1
               namespace: shop
           users:
           - name: u1
             user:
           {{user}}
           """;

    public static string CertificateAuthorityData(X509Certificate2 authority) => "    certificate-authority-data: " + Base64(authority.ExportCertificatePem());

    public static Stream Text(string text) => new MemoryStream(Encoding.UTF8.GetBytes(text));

    public static (string CertificatePem, string KeyPem) ClientCertificate(string subject)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }
}
