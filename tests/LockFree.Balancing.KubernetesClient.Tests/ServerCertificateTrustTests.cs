using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;

namespace LockFree.Balancing.KubernetesClient.Tests;

/// <summary>The CA check the mapping installs: the configured CA only, the name must match, the certificate must be a server's.</summary>
public sealed class ServerCertificateTrustTests
{
    [Fact]
    public void Validate_SignedByConfiguredCa_Accepted()
    {
        using var certificates = TestCertificates.Create();

        Assert.True(ServerCertificateTrust.Validate([certificates.Authority], certificates.Server, SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Fact]
    public void Validate_SignedByAnotherCa_Refused()
    {
        using var certificates = TestCertificates.Create();
        using var other = TestCertificates.Create();

        Assert.False(ServerCertificateTrust.Validate([other.Authority], certificates.Server, SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Fact]
    public void Validate_MachineStoreWouldAccept_StillNeedsTheConfiguredCa()
    {
        // SslPolicyErrors.None is what the platform reports when the machine store trusts the chain; KubernetesClient's
        // callback returns true right there. Ours still builds the chain against the configured CA only.
        using var certificates = TestCertificates.Create();
        using var other = TestCertificates.Create();

        Assert.False(ServerCertificateTrust.Validate([other.Authority], certificates.Server, SslPolicyErrors.None));
    }

    [Fact]
    public void Validate_NameMismatch_Refused()
    {
        using var certificates = TestCertificates.Create();

        Assert.False(ServerCertificateTrust.Validate([certificates.Authority], certificates.Server, SslPolicyErrors.RemoteCertificateNameMismatch));
    }

    [Fact]
    public void Validate_ClientOnlyCertificateFromTheCa_Refused()
    {
        using var certificates = TestCertificates.Create(serverAuthentication: false);

        Assert.False(ServerCertificateTrust.Validate([certificates.Authority], certificates.Server, SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Fact]
    public void Validate_NoCertificate_Refused()
    {
        using var certificates = TestCertificates.Create();

        Assert.False(ServerCertificateTrust.Validate([certificates.Authority], null, SslPolicyErrors.RemoteCertificateNotAvailable));
    }
}
