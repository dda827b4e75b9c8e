using System.Security.Cryptography.X509Certificates;

namespace LockFree.Balancing.Kubernetes.Api;

/// <summary>Client certificates from PEM (kubeconfig <c>client-certificate</c>/<c>client-key</c>, an exec plugin's output).</summary>
internal static class ClientCertificates
{
    /// <summary>
    /// The certificate with its private key. <see cref="X509Certificate2.CreateFromPem(ReadOnlySpan{char}, ReadOnlySpan{char})"/>
    /// gives an ephemeral key that Windows' SChannel cannot use for a TLS client handshake, so there
    /// (<paramref name="reimport"/>) it goes through PKCS#12 once (dotnet/runtime#74093, #23749).
    /// </summary>
    /// <param name="certificatePem">The PEM certificate.</param>
    /// <param name="keyPem">The PEM private key.</param>
    /// <param name="reimport">Re-import through PKCS#12 (needed on Windows).</param>
    /// <param name="storageFlags">How the re-imported key is stored (KubernetesClient's <c>ClientCertificateKeyStoreFlags</c>);
    /// setting them re-imports on every platform, since they only apply to an import.</param>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The PEM is not a matching certificate and key.</exception>
    public static X509Certificate2 FromPem(string certificatePem, string keyPem, bool reimport, X509KeyStorageFlags? storageFlags = null)
    {
        reimport |= storageFlags is not null;
        X509Certificate2 certificate = X509Certificate2.CreateFromPem(certificatePem, keyPem);
        if (!reimport)
        {
            return certificate;
        }

        using (certificate)
        {
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null, storageFlags ?? X509KeyStorageFlags.DefaultKeySet);
        }
    }
}
