using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LockFree.Balancing.Kubernetes.Api;

/// <summary>
/// Verifies the API server's certificate against the cluster CA (<c>ca.crt</c>) only, not the machine's trust store,
/// and still requires the host name to match.
/// </summary>
internal static class CertificateAuthorityValidator
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    /// <summary>Loads the PEM file's certificates.</summary>
    /// <exception cref="ArgumentException">The file holds no certificate or cannot be read.</exception>
    public static X509Certificate2Collection Load(string pemPath)
    {
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(pemPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ArgumentException($"The certificate authority file '{pemPath}' could not be read: {ex.Message}", nameof(pemPath), ex);
        }

        if (roots.Count == 0)
        {
            throw new ArgumentException($"The certificate authority file '{pemPath}' holds no PEM certificate.", nameof(pemPath));
        }

        return roots;
    }

    /// <summary>A TLS validation callback that trusts exactly <paramref name="roots"/>.</summary>
    public static RemoteCertificateValidationCallback Create(X509Certificate2Collection roots)
        => (_, certificate, _, errors) => Validate(roots, certificate, errors);

    internal static bool Validate(X509Certificate2Collection roots, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        foreach (X509Certificate2 authority in roots)
        {
            // Self-signed certificates of the bundle are the trust anchors; the others are intermediates the server
            // may not send, offered to the chain builder but not trusted on their own.
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
            chain.ChainPolicy.CustomTrustStore.AddRange(roots); // a bundle of intermediates only: trust what was given
        }

        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuthentication)); // a client-only certificate is no server
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // cluster CAs publish no revocation lists
        if (certificate is X509Certificate2 certificate2)
        {
            return chain.Build(certificate2);
        }

        using X509Certificate2 copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(copy);
    }
}
