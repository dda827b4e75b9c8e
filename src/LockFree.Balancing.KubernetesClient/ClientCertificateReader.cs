using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using LockFree.Balancing.Kubernetes.Api;

namespace LockFree.Balancing.KubernetesClient;

/// <summary>
/// The client certificate of a <see cref="KubernetesClientConfiguration"/>: <c>ClientCertificateData</c> +
/// <c>ClientCertificateKeyData</c> (base64 of PEM, as a kubeconfig's <c>client-certificate-data</c> holds it) win
/// over <c>ClientCertificateFilePath</c> + <c>ClientKeyFilePath</c> (PEM files), as in KubernetesClient. Read in
/// memory; nothing is written to disk. This class only picks the fields and reads their PEM text with errors that name
/// the field; the certificate is built by the adapter's <see cref="ClientCertificates"/>, as for a kubeconfig user.
/// </summary>
internal static class ClientCertificateReader
{
    public static X509Certificate2? Read(KubernetesClientConfiguration configuration)
    {
        bool hasData = !string.IsNullOrWhiteSpace(configuration.ClientCertificateData) || !string.IsNullOrWhiteSpace(configuration.ClientCertificateKeyData);
        bool hasFiles = !string.IsNullOrWhiteSpace(configuration.ClientCertificateFilePath) || !string.IsNullOrWhiteSpace(configuration.ClientKeyFilePath);
        string certificatePem;
        string keyPem;
        string field;
        if (hasData)
        {
            field = string.IsNullOrWhiteSpace(configuration.ClientCertificateData) ? nameof(configuration.ClientCertificateData) : nameof(configuration.ClientCertificateKeyData);
            if (string.IsNullOrWhiteSpace(configuration.ClientCertificateData) || string.IsNullOrWhiteSpace(configuration.ClientCertificateKeyData))
            {
                throw new KubernetesClientConfigurationException(field, "is empty while its pair is set; mutual TLS needs both ClientCertificateData and ClientCertificateKeyData (base64 of the PEM certificate and of the PEM private key).");
            }

            certificatePem = DecodeBase64(nameof(configuration.ClientCertificateData), configuration.ClientCertificateData);
            keyPem = DecodeBase64(nameof(configuration.ClientCertificateKeyData), configuration.ClientCertificateKeyData);
            field = nameof(configuration.ClientCertificateData);
        }
        else if (hasFiles)
        {
            if (string.IsNullOrWhiteSpace(configuration.ClientCertificateFilePath) || string.IsNullOrWhiteSpace(configuration.ClientKeyFilePath))
            {
                field = string.IsNullOrWhiteSpace(configuration.ClientCertificateFilePath) ? nameof(configuration.ClientCertificateFilePath) : nameof(configuration.ClientKeyFilePath);
                throw new KubernetesClientConfigurationException(field, "is empty while its pair is set; mutual TLS needs both ClientCertificateFilePath and ClientKeyFilePath (PEM files).");
            }

            certificatePem = ReadFile(nameof(configuration.ClientCertificateFilePath), configuration.ClientCertificateFilePath);
            keyPem = ReadFile(nameof(configuration.ClientKeyFilePath), configuration.ClientKeyFilePath);
            field = nameof(configuration.ClientCertificateFilePath);
        }
        else
        {
            return null;
        }

        try
        {
            // Re-imported through PKCS#12 on Windows (SChannel cannot use an ephemeral key), and wherever the
            // application asked KubernetesClient for key storage flags, which only an import applies.
            return ClientCertificates.FromPem(certificatePem, keyPem, OperatingSystem.IsWindows(), configuration.ClientCertificateKeyStoreFlags);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new KubernetesClientConfigurationException(field, $"the client certificate and key are not a matching PEM certificate and private key ({ex.Message}).", ex);
        }
    }

    private static string DecodeBase64(string field, string data)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(data.Trim()));
        }
        catch (FormatException ex)
        {
            throw new KubernetesClientConfigurationException(field, "is not valid base64; it holds the base64 of a PEM block, as a kubeconfig's client-certificate-data and client-key-data do.", ex);
        }
    }

    private static string ReadFile(string field, string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KubernetesClientConfigurationException(field, $"the file '{path}' cannot be read: {ex.Message}", ex);
        }
    }
}
