using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests;

/// <summary>kubeconfig files written to a temp folder, used against the fake API server (plain and TLS), with real exec plugins (shell scripts).</summary>
public sealed class KubeConfigTests : IAsyncLifetime
{
    private static readonly ServiceReference Web = ServiceReference.Parse("kubernetes:///web.shop:http");
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "lockfree-kubeconfig-" + Guid.NewGuid().ToString("N"));
    private FakeApiServer? _server;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private static CancellationToken Limit() => new CancellationTokenSource(TimeSpan.FromSeconds(15)).Token;

    private string Write(string name, string text)
    {
        string path = Path.Combine(_directory, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Config(string server, string user = "{}", string cluster = "", string currentContext = "dev", string ns = "shop")
        => $$"""
           apiVersion: v1
           kind: Config
           current-context: {{currentContext}}
           clusters:
           - name: c1
             cluster:
               server: {{server}}
           {{cluster}}
           contexts:
           - name: dev
             context:
               cluster: c1
               user: u1
               namespace: {{ns}}
           users:
           - name: u1
             user: {{user}}
           """;

    private async Task<FakeApiServer> StartServerAsync(X509Certificate2? tls = null)
    {
        _server = await FakeApiServer.StartAsync(tls);
        _server.SetList("10", Slice("web-a", "9", "IPv4", HttpPort(8080), Endpoint("10.0.0.1")));
        return _server;
    }

    private static async Task<string[]> SyncAsync(KubernetesWatcherOptions options)
    {
        options.InitialBackoff = TimeSpan.FromMilliseconds(10);
        options.MaxBackoff = TimeSpan.FromMilliseconds(50);
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, options);
        await watcher.SyncOnceAsync(Limit());
        return [.. watcher.Endpoints.Select(e => e.Key)];
    }

    private string Script(string name, string body)
    {
        string path = Write(name, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows()) // the exec tests run /bin/sh scripts: Unix only, as the CI machine is
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return path;
    }

    private static string ExecUser(string command, string apiVersion = "client.authentication.k8s.io/v1", string extra = "")
        => $$"""

               exec:
                 apiVersion: {{apiVersion}}
                 command: {{command}}
                 interactiveMode: Never
           {{extra}}
           """;

    private static string Indent(string yaml, int spaces) => string.Join('\n', yaml.Split('\n').Select(line => new string(' ', spaces) + line));

    [Fact]
    public async Task Load_TokenUser_ReachesServerWithTokenAndContextNamespace()
    {
        FakeApiServer server = await StartServerAsync();
        server.RequiredToken = "from-kubeconfig";
        string path = Write("config", Config(server.BaseAddress.AbsoluteUri, user: "{token: from-kubeconfig}"));

        KubeConfig config = KubeConfig.LoadFiles([path]);

        Assert.Equal("dev", config.ContextName);
        Assert.Equal("shop", config.Namespace);
        Assert.Equal(server.BaseAddress, config.Server);
        Assert.Equal(["10.0.0.1:8080"], await SyncAsync(config.CreateOptions()));
    }

    [Fact]
    public async Task Load_TokenFileRelativeToKubeconfig_IsReadFromThatFolder()
    {
        FakeApiServer server = await StartServerAsync();
        server.RequiredToken = "file-token";
        Write("sub/token", "file-token\n");
        string path = Write("sub/config", Config(server.BaseAddress.AbsoluteUri, user: "{tokenFile: token}"));

        Assert.Equal(["10.0.0.1:8080"], await SyncAsync(KubeConfig.LoadFiles([path]).CreateOptions()));
    }

    [Fact]
    public void Load_KubeconfigList_FirstFileWinsPerKeyAndMissingEntriesAreSkipped()
    {
        string first = Write("a.yaml", """
            current-context: second-ctx
            clusters:
            - name: shared
              cluster: {server: "https://first.example:6443"}
            """);
        string second = Write("b.yaml", """
            current-context: ignored-because-first-file-set-it
            clusters:
            - name: shared
              cluster: {server: "https://second.example:6443"}
            - name: only-second
              cluster: {server: "https://only-second.example:6443"}
            contexts:
            - name: second-ctx
              context: {cluster: shared, namespace: team}
            - name: other
              context: {cluster: only-second}
            """);
        string list = string.Join(Path.PathSeparator, first, Path.Combine(_directory, "missing.yaml"), second);
        var env = new Dictionary<string, string> { ["KUBECONFIG"] = list };

        KubeConfig current = KubeConfig.Load(name => env.GetValueOrDefault(name), "/nonexistent-home", context: null);
        KubeConfig other = KubeConfig.Load(name => env.GetValueOrDefault(name), "/nonexistent-home", context: "other");

        Assert.Equal("second-ctx", current.ContextName);
        Assert.Equal(new Uri("https://first.example:6443"), current.Server);
        Assert.Equal("team", current.Namespace);
        Assert.Equal([Path.GetFullPath(first), Path.GetFullPath(second)], current.Files);
        Assert.Equal(new Uri("https://only-second.example:6443"), other.Server);
        Assert.Equal("default", other.Namespace);
    }

    [Fact]
    public void Load_NoKubeconfigVariable_ReadsHomeKubeConfig()
    {
        Write("home/.kube/config", Config("https://home.example:6443"));

        KubeConfig config = KubeConfig.Load(_ => null, Path.Combine(_directory, "home"), context: null);

        Assert.Equal(new Uri("https://home.example:6443"), config.Server);
    }

    [Theory]
    [InlineData("current-context: nope\nclusters: []\ncontexts: []", "context 'nope' is not defined")]
    [InlineData("clusters: []", "'current-context' is not set")]
    [InlineData("current-context: x\ncontexts:\n- name: x\n  context: {cluster: gone}", "names cluster 'gone', which is not defined")]
    [InlineData("current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {}", "cluster 'c' has no 'server'")]
    [InlineData("current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {server: 'ftp://x'}", "not an absolute http or https URL")]
    [InlineData("current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: ghost}\nclusters:\n- name: c\n  cluster: {server: 'https://x'}", "names user 'ghost', which is not defined")]
    [InlineData("current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {server: 'https://x', certificate-authority-data: '%%%'}", "'certificate-authority-data' is not valid base64")]
    [InlineData("current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {server: 'https://x', certificate-authority: missing-ca.crt}", "'certificate-authority' file")]
    [InlineData("current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {server: 'https://x', insecure-skip-tls-verify: maybe}", "expected true or false")]
    [InlineData("kind: Pod", "kind is 'Pod'")]
    [InlineData("clusters: {a: b}", "'clusters' must be a list")]
    [InlineData("clusters: [\n", "is not valid YAML")]
    [InlineData("- just\n- a list", "top level is not a mapping")]
    public void Load_BrokenFile_ThrowsNamingFileAndProblem(string yaml, string expected)
    {
        string path = Write("broken.yaml", yaml);

        var exception = Assert.Throws<KubeConfigException>(() => KubeConfig.LoadFiles([path]));

        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
        Assert.Contains("broken.yaml", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{username: admin, password: secret}", "basic authentication")]
    [InlineData("{auth-provider: {name: gcp}}", "'auth-provider'")]
    [InlineData("{client-certificate-data: Zm9v}", "no client key")]
    [InlineData("{exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}", "apiVersion 'client.authentication.k8s.io/v1alpha1' is not supported")]
    [InlineData("{exec: {apiVersion: client.authentication.k8s.io/v1, command: x}}", "must set 'interactiveMode'")]
    [InlineData("{exec: {apiVersion: client.authentication.k8s.io/v1, command: x, interactiveMode: Always}}", "needs a terminal")]
    [InlineData("{exec: {apiVersion: client.authentication.k8s.io/v1beta1}}", "exec has no 'command'")]
    [InlineData("{tokenFile: /nonexistent/token}", "tokenFile '/nonexistent/token', which does not exist")]
    public void Load_UnusableUser_ThrowsNamingUserAndProblem(string user, string expected)
    {
        string path = Write("config", Config("https://x.example", user: user));

        var exception = Assert.Throws<KubeConfigException>(() => KubeConfig.LoadFiles([path]));

        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
        Assert.Equal(path, exception.FilePath);
        Assert.DoesNotContain("secret", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_KubeconfigVariableNamesOnlyMissingFiles_ThrowsListingThem()
    {
        var env = new Dictionary<string, string> { ["KUBECONFIG"] = "/nope/a" + Path.PathSeparator + "/nope/b" };

        var exception = Assert.Throws<KubeConfigException>(() => KubeConfig.Load(name => env.GetValueOrDefault(name), _directory, null));

        Assert.Contains("'/nope/a', '/nope/b'", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFiles_MissingFile_ThrowsNamingIt()
    {
        var exception = Assert.Throws<KubeConfigException>(() => KubeConfig.LoadFiles(["/nope/config"]));

        Assert.Equal("/nope/config", exception.FilePath);
    }

    [Fact]
    public async Task Load_CertificateAuthorityFileRelativeToKubeconfig_VerifiesTlsServer()
    {
        using var certificates = TestCertificates.Create();
        FakeApiServer server = await StartServerAsync(certificates.Server);
        Write("certs/ca.crt", certificates.Authority.ExportCertificatePem());
        string path = Write("config", Config(server.BaseAddress.AbsoluteUri, cluster: "    certificate-authority: certs/ca.crt"));

        Assert.StartsWith("https://", server.BaseAddress.AbsoluteUri, StringComparison.Ordinal);
        Assert.Equal(["10.0.0.1:8080"], await SyncAsync(KubeConfig.LoadFiles([path]).CreateOptions()));
    }

    [Fact]
    public async Task Load_TlsServerName_CertificateCheckedAgainstIt_NotTheServerHost()
    {
        // The API server's certificate names kubernetes.default.svc only; the kubeconfig reaches it at 127.0.0.1.
        using var certificates = TestCertificates.Create(subjectHost: "kubernetes.default.svc");
        FakeApiServer server = await StartServerAsync(certificates.Server);
        string ca = "    certificate-authority-data: " + Convert.ToBase64String(Encoding.UTF8.GetBytes(certificates.Authority.ExportCertificatePem()));
        string named = Write("named", Config(server.BaseAddress.AbsoluteUri, cluster: ca + "\n    tls-server-name: kubernetes.default.svc"));
        string unnamed = Write("unnamed", Config(server.BaseAddress.AbsoluteUri, cluster: ca));

        Assert.Equal(["10.0.0.1:8080"], await SyncAsync(KubeConfig.LoadFiles([named]).CreateOptions()));
        await Assert.ThrowsAsync<KubernetesApiException>(() => SyncAsync(KubeConfig.LoadFiles([unnamed]).CreateOptions()));
    }

    [Fact]
    public void Load_ProxyUrl_EveryRequestGoesThroughIt()
    {
        string path = Write("config", Config("https://10.1.2.3:6443", cluster: "    proxy-url: http://proxy.corp:3128"));

        KubernetesWatcherOptions options = KubeConfig.LoadFiles([path]).CreateOptions();
        using LockFree.Balancing.Kubernetes.Api.KubernetesTransport transport = LockFree.Balancing.Kubernetes.Api.KubernetesTransport.Create(
            options.Validated(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        var handler = Assert.IsType<System.Net.Http.SocketsHttpHandler>(transport.Handler);
        Assert.True(handler.UseProxy);
        Assert.Equal(new Uri("http://proxy.corp:3128"), handler.Proxy!.GetProxy(new Uri("https://10.1.2.3:6443/")));
    }

    [Theory]
    [InlineData("    proxy-url: ftp://proxy.corp", "proxy-url 'ftp://proxy.corp'")]
    [InlineData("    tls-server-name: 'not a name'", "tls-server-name 'not a name'")]
    public void Load_BadClusterConnectionSetting_ThrowsNamingIt(string cluster, string expected)
    {
        string path = Write("config", Config("https://10.1.2.3:6443", cluster: cluster));

        var exception = Assert.Throws<KubeConfigException>(() => KubeConfig.LoadFiles([path]));

        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TokenAndExec_TokenWinsWithoutError_AsClientGo()
    {
        string path = Write("config", Config("https://10.1.2.3:6443", user: "{token: abc, exec: {apiVersion: client.authentication.k8s.io/v1, command: /nonexistent/plugin, interactiveMode: Never}}"));

        KubernetesWatcherOptions options = KubeConfig.LoadFiles([path]).CreateOptions();

        Assert.Equal("abc", options.BearerToken);
        Assert.Null(options.ExecCredential);
        _ = options.Validated(); // no "both set" complaint either
    }

    [Fact]
    public void ClientCertificates_ReimportedThroughPkcs12_KeepTheirPrivateKey()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=client", key, HashAlgorithmName.SHA256);
        using X509Certificate2 self = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        string certificatePem = self.ExportCertificatePem();
        string keyPem = key.ExportPkcs8PrivateKeyPem();

        using X509Certificate2 reimported = LockFree.Balancing.Kubernetes.Api.ClientCertificates.FromPem(certificatePem, keyPem, reimport: true);

        Assert.True(reimported.HasPrivateKey);
        Assert.Equal(self.Thumbprint, reimported.Thumbprint);
        using ECDsa? reimportedKey = reimported.GetECDsaPrivateKey();
        Assert.NotNull(reimportedKey);
    }

    [Fact]
    public async Task Load_CertificateAuthorityData_VerifiesTlsServerAndRefusesAnotherCa()
    {
        using var certificates = TestCertificates.Create();
        using var stranger = TestCertificates.Create();
        FakeApiServer server = await StartServerAsync(certificates.Server);
        string Data(TestCertificates c) => Convert.ToBase64String(Encoding.UTF8.GetBytes(c.Authority.ExportCertificatePem()));
        string good = Write("good", Config(server.BaseAddress.AbsoluteUri, cluster: "    certificate-authority-data: " + Data(certificates)));
        string bad = Write("bad", Config(server.BaseAddress.AbsoluteUri, cluster: "    certificate-authority-data: " + Data(stranger)));

        Assert.Equal(["10.0.0.1:8080"], await SyncAsync(KubeConfig.LoadFiles([good]).CreateOptions()));
        int served = server.Requests.Count;
        await Assert.ThrowsAsync<KubernetesApiException>(() => SyncAsync(KubeConfig.LoadFiles([bad]).CreateOptions()));
        Assert.Equal(served, server.Requests.Count);
    }

    [Fact]
    public async Task Load_InsecureSkipTlsVerify_AcceptsUnknownCaOnlyWhenAsked()
    {
        using var certificates = TestCertificates.Create();
        FakeApiServer server = await StartServerAsync(certificates.Server);
        string insecure = Write("insecure", Config(server.BaseAddress.AbsoluteUri, cluster: "    insecure-skip-tls-verify: true"));
        string verified = Write("verified", Config(server.BaseAddress.AbsoluteUri));

        Assert.Equal(["10.0.0.1:8080"], await SyncAsync(KubeConfig.LoadFiles([insecure]).CreateOptions()));
        await Assert.ThrowsAsync<KubernetesApiException>(() => SyncAsync(KubeConfig.LoadFiles([verified]).CreateOptions()));
    }

    [Fact]
    public void Load_InsecureSkipTlsVerifyWithCa_IsRefused()
    {
        using var certificates = TestCertificates.Create();
        string data = Convert.ToBase64String(Encoding.UTF8.GetBytes(certificates.Authority.ExportCertificatePem()));
        string path = Write("config", Config("https://x.example", cluster: "    insecure-skip-tls-verify: true\n    certificate-authority-data: " + data));

        var exception = Assert.Throws<KubeConfigException>(() => KubeConfig.LoadFiles([path]));

        Assert.Contains("both a certificate authority and insecure-skip-tls-verify", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_ClientCertificateFiles_PresentedToServer()
    {
        using var certificates = TestCertificates.Create();
        FakeApiServer server = await StartServerAsync(certificates.Server);
        (string certificatePem, string keyPem) = ClientCertificate("CN=alice");
        Write("alice.crt", certificatePem);
        Write("alice.key", keyPem);
        string ca = Convert.ToBase64String(Encoding.UTF8.GetBytes(certificates.Authority.ExportCertificatePem()));
        string path = Write("config", Config(server.BaseAddress.AbsoluteUri, user: "{client-certificate: alice.crt, client-key: alice.key}", cluster: "    certificate-authority-data: " + ca));

        await SyncAsync(KubeConfig.LoadFiles([path]).CreateOptions());

        Assert.All(server.ClientCertificateSubjects, subject => Assert.Equal("CN=alice", subject));
        Assert.NotEmpty(server.ClientCertificateSubjects);
    }

    [Fact]
    public async Task Exec_ClientCertificateRotated_PooledConnectionsClosed_NextWatchPresentsNewCertificate()
    {
        using var certificates = TestCertificates.Create();
        FakeApiServer server = await StartServerAsync(certificates.Server);
        (string alicePem, string aliceKey) = ClientCertificate("CN=alice");
        (string bobPem, string bobKey) = ClientCertificate("CN=bob");
        string Credential(string pem, string key, DateTimeOffset expires) => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["apiVersion"] = "client.authentication.k8s.io/v1",
            ["kind"] = "ExecCredential",
            ["status"] = new Dictionary<string, string> { ["clientCertificateData"] = pem, ["clientKeyData"] = key, ["expirationTimestamp"] = expires.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) },
        });
        DateTimeOffset soon = DateTimeOffset.UtcNow.AddMinutes(5);
        Write("first.json", Credential(alicePem, aliceKey, soon));
        Write("second.json", Credential(bobPem, bobKey, soon.AddHours(1)));
        string runs = Path.Combine(_directory, "runs");
        Script("plugin.sh", $$"""
            if [ -f "{{runs}}" ]; then cat "{{_directory}}/second.json"; else touch "{{runs}}"; cat "{{_directory}}/first.json"; fi
            """);
        string ca = Convert.ToBase64String(Encoding.UTF8.GetBytes(certificates.Authority.ExportCertificatePem()));
        string path = Write("config", Config(server.BaseAddress.AbsoluteUri, user: ExecUser("./plugin.sh"), cluster: "    certificate-authority-data: " + ca));
        var clock = new ShiftableTimeProvider();
        KubernetesWatcherOptions options = KubeConfig.LoadFiles([path]).CreateOptions();
        options.TimeProvider = clock;
        options.InitialBackoff = TimeSpan.FromMilliseconds(10);
        options.MaxBackoff = TimeSpan.FromMilliseconds(50);
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, options);
        watcher.StartBackgroundSync();
        WatchConnection first = await server.NextWatchAsync();
        await watcher.WaitForVersionAsync(1, Limit());

        // Alice's certificate expires; the next request runs the plugin again and gets Bob's.
        clock.Advance(TimeSpan.FromMinutes(10));
        first.End();
        await server.NextWatchAsync();

        string[] subjects = [.. server.ClientCertificateSubjects];
        Assert.Equal("CN=alice", subjects[0]);
        Assert.Equal("CN=bob", subjects[^1]); // not the pooled connection that presented alice's certificate
    }

    [Fact]
    public async Task Exec_RegistryWatchers_ShareOneCredentialSource_PluginRunsOnce()
    {
        FakeApiServer server = await StartServerAsync();
        server.RequiredToken = "exec-token";
        string log = Path.Combine(_directory, "runs.log");
        string expires = DateTimeOffset.UtcNow.AddMinutes(10).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        Script("plugin.sh", $$$"""
            echo run >> "{{{log}}}"
            printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token","expirationTimestamp":"{{{expires}}}"}}'
            """);
        string path = Write("config", Config(server.BaseAddress.AbsoluteUri, user: ExecUser("./plugin.sh")));
        await using var registry = new LockFree.Balancing.Kubernetes.Sharing.KubernetesWatchRegistry(KubeConfig.LoadFiles([path]).CreateOptions());
        var http = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var metrics = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        using var first = registry.Subscribe(ServiceReference.Parse("web.shop:http"), _ => http.TrySetResult());
        using var second = registry.Subscribe(ServiceReference.Parse("web.shop:metrics"), _ => metrics.TrySetResult());
        await Task.WhenAll(http.Task, metrics.Task).WaitAsync(Limit());

        Assert.Single(File.ReadAllLines(log)); // two watchers, one plugin run
        Assert.All(server.Authorizations, header => Assert.Equal("Bearer exec-token", header));
    }

    [Fact]
    public void Load_ClientCertificateWithWrongKey_ThrowsNamingUser()
    {
        (string certificatePem, _) = ClientCertificate("CN=alice");
        (_, string otherKey) = ClientCertificate("CN=bob");
        string user = $"{{client-certificate-data: {Base64(certificatePem)}, client-key-data: {Base64(otherKey)}}}";
        string path = Write("config", Config("https://x.example", user: user));

        var exception = Assert.Throws<KubeConfigException>(() => KubeConfig.LoadFiles([path]));

        Assert.Contains("user 'u1'", exception.Message, StringComparison.Ordinal);
        Assert.Contains("not a matching PEM certificate and private key", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_TokenPlugin_RunsWithArgsAndEnvCachesUntilExpiryAndRerunsAfter()
    {
        FakeApiServer server = await StartServerAsync();
        server.RequiredToken = "exec-token";
        string log = Path.Combine(_directory, "runs.log");
        string expires = DateTimeOffset.UtcNow.AddMinutes(10).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        string plugin = Script("plugin.sh", $$$"""
            echo "$1 $GREETING $KUBERNETES_EXEC_INFO" >> "{{{log}}}"
            printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token","expirationTimestamp":"{{{expires}}}"}}'
            """);
        string extra = "      args: [first-arg]\n      env:\n      - {name: GREETING, value: hello}";
        string path = Write("config", Config(server.BaseAddress.AbsoluteUri, user: ExecUser("./plugin.sh", extra: extra)));
        var clock = new ShiftableTimeProvider();
        KubernetesWatcherOptions options = KubeConfig.LoadFiles([path]).CreateOptions();
        options.TimeProvider = clock;
        options.InitialBackoff = TimeSpan.FromMilliseconds(10);
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, options);

        await watcher.SyncOnceAsync(Limit());
        await watcher.SyncOnceAsync(Limit());
        string[] afterTwoSyncs = File.ReadAllLines(log);
        clock.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(20)); // inside the refresh-ahead window
        await watcher.SyncOnceAsync(Limit());

        Assert.Single(afterTwoSyncs);
        Assert.StartsWith("first-arg hello {\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false", afterTwoSyncs[0], StringComparison.Ordinal);
        Assert.Equal(2, File.ReadAllLines(log).Length);
        Assert.All(server.Authorizations, header => Assert.Equal("Bearer exec-token", header));
    }

    [Fact]
    public async Task Exec_After401_RerunsPluginAndRecovers()
    {
        FakeApiServer server = await StartServerAsync();
        server.RequiredToken = "second";
        string counter = Path.Combine(_directory, "count");
        string plugin = Script("plugin.sh", $$$"""
            if [ -f "{{{counter}}}" ]; then token=second; else token=first; touch "{{{counter}}}"; fi
            printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s"}}' "$token"
            """);
        string path = Write("config", Config(server.BaseAddress.AbsoluteUri, user: ExecUser(plugin, "client.authentication.k8s.io/v1beta1")));
        KubernetesWatcherOptions options = KubeConfig.LoadFiles([path]).CreateOptions();
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, options);

        var unauthorized = await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));
        await watcher.SyncOnceAsync(Limit());

        Assert.Equal(401, unauthorized.StatusCode);
        Assert.DoesNotContain("first", unauthorized.Message, StringComparison.Ordinal);
        Assert.Equal(["Bearer first", "Bearer second"], server.Authorizations);
        Assert.Equal(["10.0.0.1:8080"], watcher.Endpoints.Select(e => e.Key));
    }

    [Fact]
    public async Task Exec_PluginPrintsClientCertificate_PresentedToServer()
    {
        using var certificates = TestCertificates.Create();
        FakeApiServer server = await StartServerAsync(certificates.Server);
        (string certificatePem, string keyPem) = ClientCertificate("CN=exec-user");
        string json = $"{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"clientCertificateData\":{System.Text.Json.JsonSerializer.Serialize(certificatePem)},\"clientKeyData\":{System.Text.Json.JsonSerializer.Serialize(keyPem)}}}}}";
        Write("credential.json", json);
        string plugin = Script("plugin.sh", $"cat \"{Path.Combine(_directory, "credential.json")}\"");
        string ca = Convert.ToBase64String(Encoding.UTF8.GetBytes(certificates.Authority.ExportCertificatePem()));
        string path = Write("config", Config(server.BaseAddress.AbsoluteUri, user: ExecUser(plugin), cluster: "    certificate-authority-data: " + ca));

        await SyncAsync(KubeConfig.LoadFiles([path]).CreateOptions());

        Assert.NotEmpty(server.ClientCertificateSubjects);
        Assert.All(server.ClientCertificateSubjects, subject => Assert.Equal("CN=exec-user", subject));
        Assert.All(server.Authorizations, header => Assert.Equal(string.Empty, header));
    }

    [Fact]
    public async Task Exec_TokenOnlyPluginOverTls_PresentsNoClientCertificate()
    {
        using var certificates = TestCertificates.Create();
        FakeApiServer server = await StartServerAsync(certificates.Server);
        server.RequiredToken = "tls-exec-token";
        string plugin = Script("plugin.sh", "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"tls-exec-token\"}}'");
        string ca = Convert.ToBase64String(Encoding.UTF8.GetBytes(certificates.Authority.ExportCertificatePem()));
        string path = Write("config", Config(server.BaseAddress.AbsoluteUri, user: ExecUser(plugin), cluster: "    certificate-authority-data: " + ca));

        Assert.Equal(["10.0.0.1:8080"], await SyncAsync(KubeConfig.LoadFiles([path]).CreateOptions()));
        Assert.All(server.ClientCertificateSubjects, subject => Assert.Equal(string.Empty, subject));
    }

    [Fact]
    public async Task Exec_MissingCommand_ErrorNamesCommandAndInstallHint()
    {
        FakeApiServer server = await StartServerAsync();
        string path = Write("config", Config(server.BaseAddress.AbsoluteUri, user: ExecUser("lockfree-no-such-plugin", extra: "      installHint: Install it with 'brew install lockfree-plugin'.")));

        var exception = await Assert.ThrowsAsync<KubernetesApiException>(() => SyncAsync(KubeConfig.LoadFiles([path]).CreateOptions()));

        Assert.Contains("'lockfree-no-such-plugin'", exception.Message, StringComparison.Ordinal);
        Assert.Contains("could not be started", exception.Message, StringComparison.Ordinal);
        Assert.Contains("brew install lockfree-plugin", exception.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Exec_NonZeroExit_ErrorHasExitCodeAndStandardErrorButNotStandardOutput()
    {
        FakeApiServer server = await StartServerAsync();
        string plugin = Script("plugin.sh", "echo 'SECRET-TOKEN-ON-STDOUT'\necho 'credentials expired, run login' >&2\nexit 3");
        string path = Write("config", Config(server.BaseAddress.AbsoluteUri, user: ExecUser(plugin)));

        var exception = await Assert.ThrowsAsync<KubernetesApiException>(() => SyncAsync(KubeConfig.LoadFiles([path]).CreateOptions()));

        Assert.Contains("exited with code 3: credentials expired, run login", exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("echo 'not json SECRET'", "not an ExecCredential JSON object")]
    [InlineData("echo '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"SECRET\"}}'", "answered with apiVersion 'client.authentication.k8s.io/v1beta1'")]
    [InlineData("echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{}}'", "neither status.token nor a client certificate")]
    [InlineData("echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"SECRET\",\"expirationTimestamp\":\"soon\"}}'", "not an RFC 3339 time")]
    public async Task Exec_BadOutput_ErrorSaysWhatIsWrongWithoutTheToken(string script, string expected)
    {
        FakeApiServer server = await StartServerAsync();
        string plugin = Script("plugin.sh", script);
        string path = Write("config", Config(server.BaseAddress.AbsoluteUri, user: ExecUser(plugin)));

        var exception = await Assert.ThrowsAsync<KubernetesApiException>(() => SyncAsync(KubeConfig.LoadFiles([path]).CreateOptions()));

        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_PluginHangs_StoppedAfterTimeoutAndBackgroundLoopRecordsIt()
    {
        FakeApiServer server = await StartServerAsync();
        string plugin = Script("plugin.sh", "exec sleep 60");
        string path = Write("config", Config(server.BaseAddress.AbsoluteUri, user: ExecUser(plugin)));
        KubernetesWatcherOptions options = KubeConfig.LoadFiles([path]).CreateOptions();
        options.ExecCredentialTimeout = TimeSpan.FromMilliseconds(300);
        options.InitialBackoff = TimeSpan.FromSeconds(5);
        options.MaxBackoff = TimeSpan.FromSeconds(5);
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => { }, options);

        watcher.StartBackgroundSync();
        KubernetesWatchStatus status = await watcher.WaitForStatusAsync(s => s.LastError is not null, Limit());

        Assert.Contains("did not finish within 0.3 s and was stopped", status.LastError!.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static (string CertificatePem, string KeyPem) ClientCertificate(string subject)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }
}
