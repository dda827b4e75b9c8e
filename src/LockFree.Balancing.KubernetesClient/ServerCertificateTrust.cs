using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LockFree.Balancing.KubernetesClient;

/// <summary>
/// Verifies the API server against the configuration's <c>SslCaCerts</c> only: the machine's trust store plays no
/// part, the host name (or <c>TlsServerName</c>) must match, and the certificate must be valid for server
/// authentication. The same rules as the adapter's own CA validation (<c>CertificateAuthorityValidator</c>, internal
/// to LockFree.Balancing.Kubernetes).
/// </summary>
/// <remarks>
/// KubernetesClient's own callback (<c>Kubernetes.CertificateValidationCallBack</c>) accepts any certificate the
/// machine store trusts even when a cluster CA is set (it returns <see langword="true"/> as soon as
/// <see cref="SslPolicyErrors.None"/>), so a public certificate for the same name passes. This one does not.
/// Duplicated because the adapter has no public hook that takes in-memory CAs; see the package README.
/// </remarks>
internal static class ServerCertificateTrust
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    /// <summary>A TLS validation callback that trusts exactly <paramref name="authorities"/>.</summary>
    public static RemoteCertificateValidationCallback Create(X509Certificate2Collection authorities)
        => (_, certificate, _, errors) => Validate(authorities, certificate, errors);

    internal static bool Validate(X509Certificate2Collection authorities, X509Certificate? certificate, SslPolicyErrors errors)
    {
        // A name mismatch is never forgiven: a certificate from the right CA for another host is another server.
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        foreach (X509Certificate2 authority in authorities)
        {
            // Self-signed certificates are the anchors; the others are intermediates offered to the chain builder.
            if (authority.SubjectName.RawData.AsSpan().SequenceEqual(authority.IssuerName.RawData))
            {
                chain.ChainPolicy.CustomTrustStore.Add(authority);
            }
            else
            {
                chain.ChainPolicy.ExtraStore.Add(authority);
            }
        }

        if (chain.ChainPolicy.CustomTrustStore.Count == 0)
        {
            chain.ChainPolicy.CustomTrustStore.AddRange(authorities); // a bundle of intermediates only: trust what was given
        }

        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuthentication));
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // cluster CAs publish no revocation lists
        if (certificate is X509Certificate2 certificate2)
        {
            return chain.Build(certificate2);
        }

        using X509Certificate2 copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(copy);
    }
}
