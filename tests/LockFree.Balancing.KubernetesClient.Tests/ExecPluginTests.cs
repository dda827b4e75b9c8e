using k8s;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;
using static LockFree.Balancing.KubernetesClient.Tests.TestCluster;

namespace LockFree.Balancing.KubernetesClient.Tests;

/// <summary>
/// A kubeconfig exec plugin (a small /bin/sh script that logs each run): KubernetesClient runs it synchronously while
/// loading and keeps its settings private, so the mapping refuses it with the way out; that way out (LockFree's own
/// KubeConfig loader) runs the same plugin asynchronously, only when a request needs a token.
/// </summary>
public sealed class ExecPluginTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lockfree-kc-exec-").FullName;
    private readonly TestCertificates _certificates = TestCertificates.Create();
    private FakeApiServer _server = null!;

    public async Task InitializeAsync() => _server = await StartAsync(_certificates.Server);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _certificates.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private (string KubeConfig, string Log) WritePlugin()
    {
        string log = Path.Combine(_directory, "runs.log");
        string plugin = Path.Combine(_directory, "plugin.sh");
        File.WriteAllText(plugin, $$$"""
            #!/bin/sh
            echo run >> "{{{log}}}"
            printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"exec-token"}}'
            """.ReplaceLineEndings("\n"));
        if (!OperatingSystem.IsWindows()) // a /bin/sh script: Unix only, as the CI machine is
        {
            File.SetUnixFileMode(plugin, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        string user = $"    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {plugin}\n      interactiveMode: Never";
        return (KubeConfig(_server.BaseAddress, user, CertificateAuthorityData(_certificates.Authority)), log);
    }

    private static int Runs(string log) => File.Exists(log) ? File.ReadAllLines(log).Length : 0;

    [Fact]
    public void ToWatcherOptions_ExecPlugin_RefusedWithTheWayOut()
    {
        (string kubeConfig, string log) = WritePlugin();

        KubernetesClientConfiguration configuration = KubernetesClientConfiguration.BuildConfigFromConfigFile(Text(kubeConfig));
        int runsWhileLoading = Runs(log);
        var exception = Assert.Throws<KubernetesClientConfigurationException>(() => configuration.ToWatcherOptions());

        Assert.Equal(1, runsWhileLoading); // KubernetesClient ran the plugin, synchronously, before anything asked for a token
        Assert.Equal("TokenProvider", exception.Field);
        Assert.Contains("ExecTokenProvider", exception.Message, StringComparison.Ordinal);
        Assert.Contains("KubeConfig.LoadFiles(...).CreateOptions()", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("exec-token", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KubeConfigLoadFiles_SameExecPlugin_RunsAsynchronouslyOnFirstRequestAndWatches()
    {
        _server.RequiredToken = "exec-token";
        (string kubeConfig, string log) = WritePlugin();
        string path = Path.Combine(_directory, "config");
        await File.WriteAllTextAsync(path, kubeConfig);

        KubernetesWatcherOptions options = LockFree.Balancing.Kubernetes.KubeConfig.LoadFiles([path]).CreateOptions();
        int runsWhileLoading = Runs(log);
        string[] keys = await WatchAsync(_server, options);

        Assert.Equal(0, runsWhileLoading);
        Assert.Equal(WatchedKeys, keys);
        Assert.Equal(1, Runs(log)); // one run serves the LIST and the WATCH: no expiry, no 401
        Assert.All(_server.Authorizations, header => Assert.Equal("Bearer exec-token", header));
    }
}
