using k8s;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;
using static LockFree.Balancing.KubernetesClient.Tests.TestCluster;

namespace LockFree.Balancing.KubernetesClient.Tests;

/// <summary>
/// One kubeconfig loaded twice, by KubernetesClient (then mapped) and by the adapter's own <c>KubeConfig</c>: the
/// watcher options carry the same connection settings, so the same transport is built from either.
/// </summary>
public sealed class SameFieldsAsKubeConfigTests
{
    private static (KubernetesWatcherOptions Mapped, KubernetesWatcherOptions Loaded) LoadBoth(string user, string cluster, bool allowInsecure = false)
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, KubeConfig(new Uri("https://127.0.0.1:6443/"), user, cluster));
            return (
                KubernetesClientConfiguration.BuildConfigFromConfigFile(path).ToWatcherOptions(allowInsecure),
                LockFree.Balancing.Kubernetes.KubeConfig.LoadFiles([path]).CreateOptions());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TokenCaClientCertificateAndTlsServerName_SameOptionsAsKubeConfig()
    {
        using var certificates = TestCertificates.Create(subjectHost: "kube.test");
        (string certificatePem, string keyPem) = ClientCertificate("CN=alice");
        string user = $"    token: kc-token\n    client-certificate-data: {Base64(certificatePem)}\n    client-key-data: {Base64(keyPem)}";
        string cluster = CertificateAuthorityData(certificates.Authority) + "\n    tls-server-name: kube.test";

        (KubernetesWatcherOptions mapped, KubernetesWatcherOptions loaded) = LoadBoth(user, cluster);

        Assert.Equal(loaded.ApiServer, mapped.ApiServer);
        Assert.Equal(loaded.BearerToken, mapped.BearerToken);
        Assert.Equal("kc-token", mapped.BearerToken);
        Assert.Equal(loaded.CertificateAuthorities!.Select(c => c.Thumbprint), mapped.CertificateAuthorities!.Select(c => c.Thumbprint));
        Assert.Equal(loaded.ClientCertificate!.Thumbprint, mapped.ClientCertificate!.Thumbprint);
        Assert.True(mapped.ClientCertificate.HasPrivateKey);
        Assert.Equal("kube.test", loaded.TlsServerName);
        Assert.Equal(loaded.TlsServerName, mapped.TlsServerName);
        Assert.Equal(loaded.InsecureSkipTlsVerify, mapped.InsecureSkipTlsVerify);
        Assert.Null(mapped.HttpHandler);
        Assert.Null(mapped.CredentialSource); // a fixed token: the adapter's own BearerTokenSource, as for the kubeconfig
    }

    [Fact]
    public void InsecureSkipTlsVerify_AllowedByTheCaller_SameOptionsAsKubeConfig()
    {
        (KubernetesWatcherOptions mapped, KubernetesWatcherOptions loaded) = LoadBoth("    token: kc-token", "    insecure-skip-tls-verify: true", allowInsecure: true);

        Assert.True(loaded.InsecureSkipTlsVerify);
        Assert.True(mapped.InsecureSkipTlsVerify);
        Assert.Null(mapped.CertificateAuthorities);
        Assert.Equal(loaded.BearerToken, mapped.BearerToken);
    }
}
