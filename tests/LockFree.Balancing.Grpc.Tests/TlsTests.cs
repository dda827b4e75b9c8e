using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using LockFree.Balancing.Grpc.Tests.Protos;
using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests;

public sealed class TlsTests
{
    [Fact]
    public async Task SecureCall_KubernetesAddress_UsesTheServiceNameAsAuthorityAndSni()
    {
        // The pods' certificate names the Service (web.shop), not the pod IP: the call verifies only if the TLS
        // server name is the Service's, which the resolver sets through grpc-dotnet's HostOverride attribute.
        using TestCertificates certificates = TestCertificates.Create("web.shop");
        await using GrpcCluster cluster = await GrpcCluster.StartAsync(2, certificates.Server);
        var transport = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => ValidatesAgainst(certificates.Authority, certificate, errors),
            },
        };
        var client = new Echo.EchoClient(cluster.Channel(
            GrpcCluster.Config("""{"lockfree_round_robin": {}}"""), credentials: ChannelCredentials.SecureSsl, transport: transport));

        var seen = new HashSet<string>();
        for (int i = 0; i < 40 && seen.Count < 2; i++)
        {
            seen.Add((await client.WhoAsync(new WhoRequest(), cancellationToken: GrpcCluster.Limit())).Pod);
        }

        Assert.Equal(2, seen.Count);
        Assert.All(cluster.Pods, pod =>
        {
            Assert.Contains("web.shop", pod.ServerNames);
            Assert.All(pod.Authorities, authority => Assert.Equal("web.shop", authority));
        });
    }

    private static bool ValidatesAgainst(X509Certificate2 authority, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false; // the name check is the point of the test: it must pass on its own
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(new X509Certificate2(certificate));
    }
}
