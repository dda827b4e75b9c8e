using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using LockFree.Balancing.Kubernetes.Api;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LockFree.Balancing.Kubernetes;

/// <summary>
/// One context of a kubeconfig, as kubectl reads it: the files named by <c>KUBECONFIG</c> (or <c>~/.kube/config</c>),
/// merged, then the current (or a named) context's cluster, user and namespace.
/// </summary>
/// <remarks>
/// <para>
/// Merging follows kubectl: files are read in order and, for <c>clusters</c>, <c>users</c> and <c>contexts</c>,
/// the first file that defines a name wins, as does the first <c>current-context</c>. Entries of <c>KUBECONFIG</c>
/// that do not exist are skipped; relative paths in an entry (<c>certificate-authority</c>,
/// <c>client-certificate</c>, <c>client-key</c>, <c>tokenFile</c>, an exec <c>command</c> with a slash) are
/// resolved against the folder of the file that defined it.
/// </para>
/// <para>
/// Supported: <c>server</c>, <c>certificate-authority(-data)</c>, <c>insecure-skip-tls-verify</c>; users with
/// <c>token</c>, <c>tokenFile</c>, <c>client-certificate(-data)</c> + <c>client-key(-data)</c> (PEM), and
/// <c>exec</c> plugins (<c>client.authentication.k8s.io/v1</c> and <c>v1beta1</c>, run non-interactively).
/// Basic auth and the removed <c>auth-provider</c> plugins are refused with a message saying so. Everything is
/// read and checked when loading, so a broken kubeconfig fails here, not in the background loop. Immutable.
/// </para>
/// </remarks>
public sealed class KubeConfig
{
    private const string ExecV1 = "client.authentication.k8s.io/v1";
    private const string ExecV1Beta1 = "client.authentication.k8s.io/v1beta1";

    private readonly Uri _server;
    private readonly X509Certificate2Collection? _authorities;
    private readonly bool _insecureSkipTlsVerify;
    private readonly string? _token;
    private readonly string? _tokenFile;
    private readonly X509Certificate2? _clientCertificate;
    private readonly ExecCredentialSettings? _exec;
    private string? _tlsServerName;
    private Uri? _proxy;

    private KubeConfig(
        IReadOnlyList<string> files,
        string contextName,
        string @namespace,
        Uri server,
        X509Certificate2Collection? authorities,
        bool insecureSkipTlsVerify,
        string? token,
        string? tokenFile,
        X509Certificate2? clientCertificate,
        ExecCredentialSettings? exec)
    {
        Files = files;
        ContextName = contextName;
        Namespace = @namespace;
        _server = server;
        _authorities = authorities;
        _insecureSkipTlsVerify = insecureSkipTlsVerify;
        _token = token;
        _tokenFile = tokenFile;
        _clientCertificate = clientCertificate;
        _exec = exec;
    }

    /// <summary>The files that were read, in merge order.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>The context in use.</summary>
    public string ContextName { get; }

    /// <summary>The context's namespace, <c>default</c> when it names none: the natural default for <see cref="ServiceReference.Parse(string, string)"/>.</summary>
    public string Namespace { get; }

    /// <summary>The cluster's API server address.</summary>
    public Uri Server => _server;

    /// <summary>
    /// Loads the files named by the <c>KUBECONFIG</c> variable (a list separated by <see cref="Path.PathSeparator"/>),
    /// or <c>~/.kube/config</c> when it is unset, and selects a context.
    /// </summary>
    /// <param name="context">The context to use; <see langword="null"/> for the merged <c>current-context</c>.</param>
    /// <returns>The selected context, checked.</returns>
    /// <exception cref="KubeConfigException">No file could be read, or the context is missing or unusable; the message names the file and the problem.</exception>
    public static KubeConfig Load(string? context = null)
        => Load(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), context);

    /// <summary>Loads the given kubeconfig files (merged as kubectl merges <c>KUBECONFIG</c>) and selects a context.</summary>
    /// <param name="files">The files, first wins; every one must exist.</param>
    /// <param name="context">The context to use; <see langword="null"/> for the merged <c>current-context</c>.</param>
    /// <returns>The selected context, checked.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="files"/> is <see langword="null"/>.</exception>
    /// <exception cref="KubeConfigException">A file is missing or invalid, or the context is missing or unusable.</exception>
    public static KubeConfig LoadFiles(IEnumerable<string> files, string? context = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        string[] paths = [.. files];
        if (paths.Length == 0)
        {
            throw new KubeConfigException(null, "no kubeconfig file was given.");
        }

        foreach (string path in paths)
        {
            if (!File.Exists(path))
            {
                throw new KubeConfigException(path, "the file does not exist.");
            }
        }

        return FromFiles(paths, context);
    }

    /// <summary>Options that reach this context's API server with its credentials; the caller may change the rest.</summary>
    /// <returns>New options.</returns>
    public KubernetesWatcherOptions CreateOptions() => new()
    {
        ApiServer = _server,
        BearerToken = _token,
        BearerTokenFile = _tokenFile,
        CertificateAuthorities = _authorities,
        InsecureSkipTlsVerify = _insecureSkipTlsVerify,
        ClientCertificate = _clientCertificate,
        ExecCredential = _exec,
        TlsServerName = _tlsServerName,
        Proxy = _proxy,
    };

    internal static KubeConfig Load(Func<string, string?> environment, string home, string? context)
    {
        string? list = environment("KUBECONFIG");
        if (string.IsNullOrWhiteSpace(list))
        {
            string path = Path.Combine(home, ".kube", "config");
            if (!File.Exists(path))
            {
                throw new KubeConfigException(path, "the file does not exist and KUBECONFIG is not set; run 'kubectl config view' to check your setup, or use in-cluster or kubectl proxy options.");
            }

            return FromFiles([path], context);
        }

        string[] named = list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string[] existing = [.. named.Where(File.Exists).Distinct(StringComparer.Ordinal)];
        if (existing.Length == 0)
        {
            throw new KubeConfigException(null, $"none of the files KUBECONFIG names exists ({string.Join(", ", named.Select(n => "'" + n + "'"))}).");
        }

        return FromFiles(existing, context);
    }

    private static KubeConfig FromFiles(string[] paths, string? context)
    {
        var merged = new Merged();
        foreach (string path in paths)
        {
            ReadInto(Path.GetFullPath(path), merged);
        }

        string contextName = context ?? merged.CurrentContext
            ?? throw new KubeConfigException(paths.Length == 1 ? paths[0] : null, "no context was given and 'current-context' is not set; run 'kubectl config use-context NAME' or pass a context.");
        if (!merged.Contexts.TryGetValue(contextName, out Entry? contextEntry))
        {
            throw new KubeConfigException(
                paths.Length == 1 ? paths[0] : null,
                $"context '{contextName}' is not defined; defined contexts: {Names(merged.Contexts)}.");
        }

        string? clusterName = Scalar(contextEntry, "cluster");
        string? userName = Scalar(contextEntry, "user");
        if (string.IsNullOrEmpty(clusterName))
        {
            throw new KubeConfigException(contextEntry.File, $"context '{contextName}' names no cluster.");
        }

        if (!merged.Clusters.TryGetValue(clusterName, out Entry? cluster))
        {
            throw new KubeConfigException(contextEntry.File, $"context '{contextName}' names cluster '{clusterName}', which is not defined; defined clusters: {Names(merged.Clusters)}.");
        }

        Entry? user = null;
        if (!string.IsNullOrEmpty(userName) && !merged.Users.TryGetValue(userName, out user))
        {
            throw new KubeConfigException(contextEntry.File, $"context '{contextName}' names user '{userName}', which is not defined; defined users: {Names(merged.Users)}.");
        }

        string @namespace = Scalar(contextEntry, "namespace") is { Length: > 0 } ns ? ns : "default";
        (Uri server, X509Certificate2Collection? authorities, bool insecure, string? tlsServerName, Uri? proxy) = ReadCluster(clusterName, cluster);
        string? token = null;
        string? tokenFile = null;
        X509Certificate2? certificate = null;
        ExecCredentialSettings? exec = null;
        if (user is not null)
        {
            (token, tokenFile, certificate, exec) = ReadUser(userName!, user, server, cluster, authorities, insecure);
        }

        return new KubeConfig([.. paths.Select(Path.GetFullPath)], contextName, @namespace, server, authorities, insecure, token, tokenFile, certificate, exec)
        {
            _tlsServerName = tlsServerName,
            _proxy = proxy,
        };
    }

    private static void ReadInto(string path, Merged merged)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KubeConfigException(path, "the file cannot be read: " + ex.Message, ex);
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            throw new KubeConfigException(path, $"the file is not valid YAML (line {ex.Start.Line}, column {ex.Start.Column}): {ex.Message}", ex);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return; // an empty file is allowed, as kubectl allows it
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new KubeConfigException(path, "the file is not a kubeconfig: its top level is not a mapping.");
        }

        string? kind = ScalarOf(root, "kind");
        if (kind is not null && kind.Length > 0 && !string.Equals(kind, "Config", StringComparison.Ordinal))
        {
            throw new KubeConfigException(path, $"the file is not a kubeconfig: kind is '{kind}', expected 'Config'.");
        }

        if (ScalarOf(root, "current-context") is { Length: > 0 } current)
        {
            merged.CurrentContext ??= current;
        }

        ReadNamedList(path, root, "clusters", "cluster", merged.Clusters);
        ReadNamedList(path, root, "users", "user", merged.Users);
        ReadNamedList(path, root, "contexts", "context", merged.Contexts);
    }

    private static void ReadNamedList(string path, YamlMappingNode root, string listKey, string itemKey, Dictionary<string, Entry> into)
    {
        if (Child(root, listKey) is not { } node || node is YamlScalarNode { Value: null or "" })
        {
            return;
        }

        if (node is not YamlSequenceNode list)
        {
            throw new KubeConfigException(path, $"'{listKey}' must be a list of {{name, {itemKey}}} entries.");
        }

        foreach (YamlNode item in list)
        {
            if (item is not YamlMappingNode map || ScalarOf(map, "name") is not { Length: > 0 } name)
            {
                throw new KubeConfigException(path, $"an entry of '{listKey}' has no name.");
            }

            YamlMappingNode body = Child(map, itemKey) switch
            {
                YamlMappingNode m => m,
                null or YamlScalarNode { Value: null or "" } => new YamlMappingNode(),
                _ => throw new KubeConfigException(path, $"'{listKey}' entry '{name}': '{itemKey}' must be a mapping."),
            };
            into.TryAdd(name, new Entry(path, body)); // first file wins, as in kubectl
        }
    }

    private static (Uri Server, X509Certificate2Collection? Authorities, bool Insecure, string? TlsServerName, Uri? Proxy) ReadCluster(string name, Entry cluster)
    {
        string what = $"cluster '{name}'";
        string server = Scalar(cluster, "server") is { Length: > 0 } s
            ? s
            : throw new KubeConfigException(cluster.File, $"{what} has no 'server'.");
        if (!Uri.TryCreate(server, UriKind.Absolute, out Uri? serverUri) || (serverUri.Scheme != Uri.UriSchemeHttps && serverUri.Scheme != Uri.UriSchemeHttp))
        {
            throw new KubeConfigException(cluster.File, $"{what} has server '{server}', which is not an absolute http or https URL.");
        }

        bool insecure = Boolean(cluster, "insecure-skip-tls-verify", what);
        string? caData = Scalar(cluster, "certificate-authority-data");
        string? caFile = Scalar(cluster, "certificate-authority");
        X509Certificate2Collection? authorities = null;
        if (!string.IsNullOrEmpty(caData))
        {
            // kubectl lets the data win over the file when both are set.
            authorities = ReadCertificates(cluster.File, $"{what} 'certificate-authority-data'", DecodeBase64(cluster.File, $"{what} 'certificate-authority-data'", caData));
        }
        else if (!string.IsNullOrEmpty(caFile))
        {
            string path = Resolve(cluster.File, caFile);
            authorities = ReadCertificates(cluster.File, $"{what} 'certificate-authority' file '{path}'", ReadFileText(cluster.File, $"{what} 'certificate-authority'", path));
        }

        if (insecure && authorities is not null)
        {
            throw new KubeConfigException(cluster.File, $"{what} sets both a certificate authority and insecure-skip-tls-verify; set one (kubectl refuses this too).");
        }

        if (insecure && serverUri.Scheme == Uri.UriSchemeHttp)
        {
            insecure = false; // nothing to verify on plain HTTP
        }

        // The name the server's certificate is checked against (and sent as SNI), when it differs from the server's host.
        string? tlsServerName = Scalar(cluster, "tls-server-name") is { Length: > 0 } n ? n : null;
        if (tlsServerName is not null && Uri.CheckHostName(tlsServerName) == UriHostNameType.Unknown)
        {
            throw new KubeConfigException(cluster.File, $"{what} has tls-server-name '{tlsServerName}', which is not a host name.");
        }

        Uri? proxy = null;
        if (Scalar(cluster, "proxy-url") is { Length: > 0 } proxyText)
        {
            if (!Uri.TryCreate(proxyText, UriKind.Absolute, out proxy) || proxy.Scheme is not ("http" or "https" or "socks5"))
            {
                throw new KubeConfigException(cluster.File, $"{what} has proxy-url '{proxyText}', which is not an absolute http, https or socks5 URL.");
            }
        }

        return (serverUri, authorities, insecure, tlsServerName, proxy);
    }

    private static (string? Token, string? TokenFile, X509Certificate2? Certificate, ExecCredentialSettings? Exec) ReadUser(
        string name, Entry user, Uri server, Entry cluster, X509Certificate2Collection? authorities, bool insecure)
    {
        string what = $"user '{name}'";
        if (Child(user.Body, "auth-provider") is not null)
        {
            throw new KubeConfigException(user.File, $"{what} uses an 'auth-provider' plugin, which kubectl removed in 1.26; switch it to an 'exec' credential plugin (for example kubelogin or gke-gcloud-auth-plugin).");
        }

        if (!string.IsNullOrEmpty(Scalar(user, "username")) || !string.IsNullOrEmpty(Scalar(user, "password")))
        {
            throw new KubeConfigException(user.File, $"{what} uses basic authentication (username/password), which Kubernetes removed in 1.19; use a token, a client certificate or an exec plugin.");
        }

        string? token = Scalar(user, "token") is { Length: > 0 } t ? t : null;
        string? tokenFile = Scalar(user, "tokenFile") is { Length: > 0 } tf ? Resolve(user.File, tf) : null;
        if (token is not null)
        {
            tokenFile = null; // kubectl: the inline token wins over tokenFile
        }
        else if (tokenFile is not null && !File.Exists(tokenFile))
        {
            throw new KubeConfigException(user.File, $"{what} has tokenFile '{tokenFile}', which does not exist.");
        }

        X509Certificate2? certificate = ReadClientCertificate(what, user);
        ExecCredentialSettings? exec = null;
        if (Child(user.Body, "exec") is { } execNode && token is null && tokenFile is null && certificate is null)
        {
            // client-go's precedence (plugin/pkg/client/auth/exec UpdateTransportConfig): a token or a static client
            // certificate wins over the exec plugin, which is then not run, without an error.
            exec = ReadExec(what, user, execNode, server, cluster, authorities, insecure);
        }

        return (token, tokenFile, certificate, exec);
    }

    private static X509Certificate2? ReadClientCertificate(string what, Entry user)
    {
        string? certificatePem = ReadPemSetting(what, user, "client-certificate");
        string? keyPem = ReadPemSetting(what, user, "client-key");
        if (certificatePem is null && keyPem is null)
        {
            return null;
        }

        if (certificatePem is null || keyPem is null)
        {
            throw new KubeConfigException(user.File, $"{what} has a client {(certificatePem is null ? "key" : "certificate")} but no client {(certificatePem is null ? "certificate" : "key")}; both are needed for mutual TLS.");
        }

        try
        {
            return Api.ClientCertificates.FromPem(certificatePem, keyPem, OperatingSystem.IsWindows());
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new KubeConfigException(user.File, $"{what}: the client certificate and key are not a matching PEM certificate and private key ({ex.Message}).", ex);
        }
    }

    // The -data form (base64 of the PEM) wins over the file form, as in kubectl.
    private static string? ReadPemSetting(string what, Entry user, string key)
    {
        if (Scalar(user, key + "-data") is { Length: > 0 } data)
        {
            return DecodeBase64(user.File, $"{what} '{key}-data'", data);
        }

        if (Scalar(user, key) is { Length: > 0 } file)
        {
            return ReadFileText(user.File, $"{what} '{key}'", Resolve(user.File, file));
        }

        return null;
    }

    private static ExecCredentialSettings ReadExec(string what, Entry user, YamlNode node, Uri server, Entry cluster, X509Certificate2Collection? authorities, bool insecure)
    {
        if (node is not YamlMappingNode exec)
        {
            throw new KubeConfigException(user.File, $"{what}: 'exec' must be a mapping.");
        }

        string apiVersion = ScalarOf(exec, "apiVersion") ?? string.Empty;
        if (apiVersion is not (ExecV1 or ExecV1Beta1))
        {
            throw new KubeConfigException(user.File, $"{what}: exec apiVersion '{apiVersion}' is not supported; use '{ExecV1}' or '{ExecV1Beta1}'.");
        }

        string command = ScalarOf(exec, "command") is { Length: > 0 } c ? c : throw new KubeConfigException(user.File, $"{what}: exec has no 'command'.");
        if (command.Contains('/', StringComparison.Ordinal) && !Path.IsPathRooted(command))
        {
            command = Resolve(user.File, command); // kubectl: a relative path is relative to the kubeconfig's folder
        }

        string? interactiveMode = ScalarOf(exec, "interactiveMode");
        if (string.IsNullOrEmpty(interactiveMode) && apiVersion == ExecV1)
        {
            throw new KubeConfigException(user.File, $"{what}: exec with apiVersion '{ExecV1}' must set 'interactiveMode' (Never or IfAvailable).");
        }

        switch (interactiveMode)
        {
            case null or "" or "Never" or "IfAvailable":
                break; // a background watcher has no terminal: run non-interactively
            case "Always":
                throw new KubeConfigException(user.File, $"{what}: exec interactiveMode 'Always' needs a terminal, which a background watcher does not have; use a plugin configuration that works with 'Never'.");
            default:
                throw new KubeConfigException(user.File, $"{what}: exec interactiveMode '{interactiveMode}' is not one of Never, IfAvailable, Always.");
        }

        var arguments = new List<string>();
        if (Child(exec, "args") is YamlSequenceNode args)
        {
            foreach (YamlNode argument in args)
            {
                arguments.Add(argument is YamlScalarNode { Value: { } value } ? value : throw new KubeConfigException(user.File, $"{what}: exec 'args' must be a list of strings."));
            }
        }

        var environment = new List<KeyValuePair<string, string>>();
        if (Child(exec, "env") is YamlSequenceNode env)
        {
            foreach (YamlNode variable in env)
            {
                if (variable is not YamlMappingNode pair || ScalarOf(pair, "name") is not { Length: > 0 } variableName)
                {
                    throw new KubeConfigException(user.File, $"{what}: every exec 'env' entry needs a 'name' and a 'value'.");
                }

                environment.Add(new(variableName, ScalarOf(pair, "value") ?? string.Empty));
            }
        }

        string? clusterInfo = null;
        if (ScalarOf(exec, "provideClusterInfo") is "true")
        {
            clusterInfo = ClusterInfoJson(server, authorities, insecure, cluster);
        }

        return new ExecCredentialSettings(apiVersion, command, arguments, environment, ScalarOf(exec, "installHint"), clusterInfo, user.File);
    }

    private static string ClusterInfoJson(Uri server, X509Certificate2Collection? authorities, bool insecure, Entry cluster)
    {
        var json = new StringBuilder("{\"server\":").Append(JsonSerializer.Serialize(server.OriginalString, KubeConfigJsonContext.Default.String));
        if (authorities is not null)
        {
            var pem = new StringBuilder();
            foreach (X509Certificate2 authority in authorities)
            {
                pem.Append(authority.ExportCertificatePem()).Append('\n');
            }

            json.Append(",\"certificate-authority-data\":\"").Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(pem.ToString()))).Append('"');
        }

        if (insecure)
        {
            json.Append(",\"insecure-skip-tls-verify\":true");
        }

        if (Scalar(cluster, "tls-server-name") is { Length: > 0 } tlsServerName)
        {
            json.Append(",\"tls-server-name\":").Append(JsonSerializer.Serialize(tlsServerName, KubeConfigJsonContext.Default.String));
        }

        return json.Append('}').ToString();
    }

    private static X509Certificate2Collection ReadCertificates(string file, string what, string pem)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new KubeConfigException(file, $"{what} is not valid PEM: {ex.Message}", ex);
        }

        if (collection.Count == 0)
        {
            throw new KubeConfigException(file, $"{what} holds no PEM certificate (-----BEGIN CERTIFICATE-----).");
        }

        return collection;
    }

    private static string DecodeBase64(string file, string what, string data)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(data.Trim()));
        }
        catch (FormatException ex)
        {
            throw new KubeConfigException(file, $"{what} is not valid base64.", ex);
        }
    }

    private static string ReadFileText(string file, string what, string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KubeConfigException(file, $"{what} file '{path}' cannot be read: {ex.Message}", ex);
        }
    }

    private static string Resolve(string kubeConfigFile, string path)
        => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(kubeConfigFile)!, path));

    private static bool Boolean(Entry entry, string key, string what) => Scalar(entry, key) switch
    {
        null or "" or "false" or "False" => false,
        "true" or "True" => true,
        string other => throw new KubeConfigException(entry.File, $"{what}: '{key}' is '{other}', expected true or false."),
    };

    private static string Names(Dictionary<string, Entry> entries)
        => entries.Count == 0 ? "(none)" : string.Join(", ", entries.Keys.Order(StringComparer.Ordinal));

    private static string? Scalar(Entry entry, string key) => ScalarOf(entry.Body, key);

    private static string? ScalarOf(YamlMappingNode map, string key) => Child(map, key) switch
    {
        YamlScalarNode scalar => scalar.Value,
        null => null,
        _ => null,
    };

    private static YamlNode? Child(YamlMappingNode map, string key)
        => map.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? value) ? value : null;

    private sealed record Entry(string File, YamlMappingNode Body);

    private sealed class Merged
    {
        public string? CurrentContext { get; set; }

        public Dictionary<string, Entry> Clusters { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Entry> Users { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Entry> Contexts { get; } = new(StringComparer.Ordinal);
    }
}
