using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>A throw-away cluster CA and an API-server certificate for 127.0.0.1 signed by it.</summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(X509Certificate2 authority, X509Certificate2 server)
    {
        Authority = authority;
        Server = server;
    }

    public X509Certificate2 Authority { get; }

    public X509Certificate2 Server { get; }

    /// <param name="subjectHost">The server's IP address or DNS name.</param>
    /// <param name="serverAuthentication">False issues a certificate for client authentication only (a misissued server certificate).</param>
    public static TestCertificates Create(string subjectHost = "127.0.0.1", bool serverAuthentication = true)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=test-cluster-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        X509Certificate2 authority = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddHours(1));

        using ECDsa serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=kube-apiserver", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(subjectHost, out IPAddress? ip))
        {
            names.AddIpAddress(ip);
        }
        else
        {
            names.AddDnsName(subjectHost);
        }

        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        string usage = serverAuthentication ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2";
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        using X509Certificate2 signed = serverRequest.Create(authority, now.AddMinutes(-5), now.AddHours(1), [1, 2, 3, 4, 5, 6, 7, 8]);
        using X509Certificate2 withKey = signed.CopyWithPrivateKey(serverKey);
        // Kestrel wants a certificate whose key it can use on every platform: round-trip through PKCS#12.
        X509Certificate2 server = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        return new TestCertificates(authority, server);
    }

    /// <summary>Writes the CA as PEM to a temporary file and returns its path.</summary>
    public string WriteAuthorityPem()
    {
        string path = Path.Combine(Path.GetTempPath(), "lockfree-ca-" + Guid.NewGuid().ToString("N") + ".crt");
        File.WriteAllText(path, Authority.ExportCertificatePem());
        return path;
    }

    public void Dispose()
    {
        Authority.Dispose();
        Server.Dispose();
    }
}
