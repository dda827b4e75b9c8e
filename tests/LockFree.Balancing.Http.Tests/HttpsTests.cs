using System.Net;
using System.Security.Cryptography.X509Certificates;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Http.Tests;

/// <summary>https to a pod IP with the Service's certificate: the TLS server name must be the Service, not the IP, with either transport.</summary>
public sealed class HttpsTests
{
    [Theory]
    [InlineData(BalancingTransport.PodConnections)]
    [InlineData(BalancingTransport.InnerHandler)]
    public async Task Https_SniAndCertificateCheckUseTheServiceName(BalancingTransport transport)
    {
        using TestCertificates certificates = TestCertificates.Create("web.shop");
        await using FakeApiServer api = await FakeApiServer.StartAsync();
        await using Backend pod = await Backend.StartAsync("tls-pod", certificates.Server);
        api.SetList("1", Slice("web-tls", "1", "IPv4", Ports("https", pod.Port), Endpoint("127.0.0.1")));
        await using var registry = new KubernetesWatchRegistry(Cluster.WatcherOptions(api), TimeSpan.Zero);
        void TrustTheTestAuthority(SocketsHttpHandler handler) => handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            CustomTrustStore = { certificates.Authority },
        };
        var options = new KubernetesBalancingOptions { PortName = "https", Transport = transport };
        using var inner = new SocketsHttpHandler();
        if (transport == BalancingTransport.PodConnections)
        {
            options.ConfigurePodHandler = TrustTheTestAuthority; // the pods' own handlers make the connections
        }
        else
        {
            TrustTheTestAuthority(inner);
        }

        using var balancing = new KubernetesBalancing(registry, options);
        using var client = new HttpClient(transport == BalancingTransport.InnerHandler ? balancing.CreateHandler(inner) : balancing.CreateHandler()) { BaseAddress = new Uri("https://web.shop/") };
        await balancing.WaitForEndpointsAsync(client.BaseAddress, Cluster.Limit());

        using HttpResponseMessage response = await client.GetAsync("who", Cluster.Limit());

        // The default validation checked the certificate's name against the server name the handler sent.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("tls-pod", await response.Content.ReadAsStringAsync(Cluster.Limit()));
        Assert.Equal("web.shop", Assert.Single(pod.TlsServerNames));
        Assert.Equal("web.shop", Assert.Single(pod.HostHeaders));
    }
}
