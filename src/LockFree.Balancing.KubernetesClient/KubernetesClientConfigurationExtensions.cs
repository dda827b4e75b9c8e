using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Authentication;
using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.KubernetesClient;

/// <summary>Maps a KubernetesClient <see cref="KubernetesClientConfiguration"/> onto <see cref="KubernetesWatcherOptions"/>.</summary>
public static class KubernetesClientConfigurationExtensions
{
    /// <summary>
    /// Options that reach the configuration's API server with its credentials; the caller may change the rest
    /// (timeouts, address family, logging). KubernetesClient's HTTP client is not used: the watcher keeps its own.
    /// </summary>
    /// <remarks>
    /// <para>Mapped: <c>Host</c> → <see cref="KubernetesWatcherOptions.ApiServer"/>; <c>AccessToken</c> →
    /// <see cref="KubernetesWatcherOptions.BearerToken"/>; a <c>TokenProvider</c> (KubernetesClient's
    /// <c>TokenFileAuth</c> of <c>InClusterConfig()</c>, OIDC, or your own) is asked for every request and wins over
    /// <c>AccessToken</c>, as in KubernetesClient; <c>SslCaCerts</c> are the only trusted roots (never the machine
    /// store: the adapter's CA check, as for a kubeconfig's <c>certificate-authority-data</c>); <c>ClientCertificateData</c>/<c>ClientCertificateKeyData</c> or <c>ClientCertificateFilePath</c>/<c>ClientKeyFilePath</c>
    /// (PEM, read in memory) are presented for mutual TLS; <c>TlsServerName</c> is the name sent and verified;
    /// <c>DisableHttp2</c> keeps requests on HTTP/1.1. Namespace is not an option of the watcher: pass
    /// <c>configuration.Namespace ?? "default"</c> to <see cref="ServiceReference.Parse(string, string)"/>.</para>
    /// <para>Not applied: <c>HttpClientTimeout</c> (a per-call limit would end long watches; the watcher has
    /// <see cref="KubernetesWatcherOptions.RequestTimeout"/>, <see cref="KubernetesWatcherOptions.WatchTimeout"/> and
    /// <see cref="KubernetesWatcherOptions.IdleTimeout"/>), <c>UserAgent</c>, <c>JsonSerializerOptions</c>, <c>CurrentContext</c>.</para>
    /// <para>Refused with a <see cref="KubernetesClientConfigurationException"/>: basic authentication, a
    /// <c>FirstMessageHandlerSetup</c> callback, an exec plugin (<c>ExecTokenProvider</c>), and <c>SkipTlsVerify</c> unless <paramref name="allowInsecureSkipTlsVerify"/> is set.</para>
    /// <para>Everything is carried by the options as <see cref="LockFree.Balancing.Kubernetes.KubeConfig.CreateOptions"/>
    /// carries a kubeconfig's settings: <see cref="KubernetesWatcherOptions.HttpHandler"/> stays unset, so the watchers
    /// (or the registry, which shares one for all its watchers) build the adapter's own transport, with HTTP/2 pings and
    /// TCP keep-alive. There is nothing for the caller to dispose.</para>
    /// </remarks>
    /// <param name="configuration">The configuration, as <c>KubernetesClientConfiguration.BuildConfigFromConfigFile</c>,
    /// <c>InClusterConfig</c> or an initializer built it.</param>
    /// <param name="allowInsecureSkipTlsVerify">Accept <c>SkipTlsVerify = true</c> (any server certificate, so anyone on
    /// the path can read the token and forge the endpoint set). Default: refused, because a flag set for a quick
    /// test should not silently reach production through this mapping.</param>
    /// <returns>New options.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="configuration"/> is <see langword="null"/>.</exception>
    /// <exception cref="KubernetesClientConfigurationException">A setting cannot be mapped or is unusable; <see cref="KubernetesClientConfigurationException.Field"/> names it.</exception>
    public static KubernetesWatcherOptions ToWatcherOptions(this KubernetesClientConfiguration configuration, bool allowInsecureSkipTlsVerify = false)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        Uri server = ReadHost(configuration);
        RefuseUnmappable(configuration);
        bool tls = server.Scheme == Uri.UriSchemeHttps;

        X509Certificate2Collection? authorities = null;
        if (configuration.SslCaCerts is { } caCerts)
        {
            if (caCerts.Count == 0)
            {
                // An empty set must not fall back to the machine store without a word.
                throw new KubernetesClientConfigurationException(nameof(configuration.SslCaCerts), "is set but holds no certificate; set the cluster CA (the kubeconfig's certificate-authority-data, or ca.crt in a pod), or leave it null to trust the machine's store.");
            }

            authorities = tls ? new X509Certificate2Collection(caCerts) : null; // a copy: the application may change its collection; plain http has nothing to verify
        }

        bool insecure = false;
        if (configuration.SkipTlsVerify && tls)
        {
            if (authorities is not null)
            {
                throw new KubernetesClientConfigurationException(nameof(configuration.SkipTlsVerify), "is true while SslCaCerts is set; set one (kubectl refuses both too).");
            }

            if (!allowInsecureSkipTlsVerify)
            {
                throw new KubernetesClientConfigurationException(nameof(configuration.SkipTlsVerify), "is true: the API server's certificate would not be checked, so anyone on the path could read the token and forge the endpoint set. Set SslCaCerts to the cluster CA, or pass allowInsecureSkipTlsVerify: true to accept the risk.");
            }

            insecure = true;
        }

        string? tlsServerName = tls && !string.IsNullOrWhiteSpace(configuration.TlsServerName) ? configuration.TlsServerName.Trim() : null;
        if (tlsServerName is not null && Uri.CheckHostName(tlsServerName) == UriHostNameType.Unknown)
        {
            throw new KubernetesClientConfigurationException(nameof(configuration.TlsServerName), $"'{tlsServerName}' is not a host name or IP address.");
        }

        X509Certificate2? clientCertificate = ClientCertificateReader.Read(configuration); // read last: nothing after it throws but the http check
        if (clientCertificate is not null && !tls)
        {
            clientCertificate.Dispose();
            throw new KubernetesClientConfigurationException(nameof(configuration.ClientCertificateData), $"a client certificate is set but Host '{server}' is plain http, where it cannot be presented; use the https address of the API server.");
        }

        ITokenProvider? tokenProvider = configuration.TokenProvider;
        // The same internal fields KubeConfig.CreateOptions() fills for a kubeconfig, so the watch runs on the adapter's
        // own transport (one handler per registry, HTTP/2 pings, TCP keep-alive, its CA check); no handler of ours.
        return new KubernetesWatcherOptions
        {
            ApiServer = server,
            BearerToken = tokenProvider is null && !string.IsNullOrEmpty(configuration.AccessToken) ? configuration.AccessToken : null,
            CertificateAuthorities = authorities,
            InsecureSkipTlsVerify = insecure,
            ClientCertificate = clientCertificate,
            CredentialSource = tokenProvider is null ? null : new TokenProviderCredentialSource(tokenProvider, clientCertificate),
            TlsServerName = tlsServerName,
            DisableHttp2 = configuration.DisableHttp2,
        };
    }

    private static Uri ReadHost(KubernetesClientConfiguration configuration)
    {
        string? host = configuration.Host;
        if (string.IsNullOrWhiteSpace(host))
        {
            throw new KubernetesClientConfigurationException(nameof(configuration.Host), "is not set; set the API server's address, for example https://10.0.0.1:6443 (kubectl proxy: http://127.0.0.1:8001).");
        }

        if (!Uri.TryCreate(host.Trim(), UriKind.Absolute, out Uri? server) || (server.Scheme != Uri.UriSchemeHttps && server.Scheme != Uri.UriSchemeHttp))
        {
            throw new KubernetesClientConfigurationException(nameof(configuration.Host), $"'{host}' is not an absolute http or https URL, for example https://10.0.0.1:6443.");
        }

        return server;
    }

    private static void RefuseUnmappable(KubernetesClientConfiguration configuration)
    {
        if (!string.IsNullOrEmpty(configuration.Username) || !string.IsNullOrEmpty(configuration.Password))
        {
            throw new KubernetesClientConfigurationException(
                string.IsNullOrEmpty(configuration.Username) ? nameof(configuration.Password) : nameof(configuration.Username),
                "basic authentication was removed from Kubernetes in 1.19 and is not supported; use AccessToken, a TokenProvider or a client certificate.");
        }

        if (configuration.FirstMessageHandlerSetup is not null)
        {
            throw new KubernetesClientConfigurationException(nameof(configuration.FirstMessageHandlerSetup), "configures KubernetesClient's own HTTP handler, which the watcher does not use; applying it to ours could switch off the CA check. Express the setting through the configuration (SslCaCerts, client certificate, TlsServerName, DisableHttp2) or set KubernetesWatcherOptions.HttpHandler yourself.");
        }

        if (configuration.TokenProvider is ExecTokenProvider)
        {
            // KubernetesClient already ran the plugin synchronously while loading, re-runs it on a thread-pool
            // thread only at expiry (never after a 401) and keeps its settings private, so they cannot be handed on.
            throw new KubernetesClientConfigurationException(nameof(configuration.TokenProvider), "is an ExecTokenProvider (a kubeconfig exec plugin), whose plugin settings KubernetesClient keeps private. Load that kubeconfig with LockFree.Balancing.Kubernetes.KubeConfig.Load() or KubeConfig.LoadFiles(...).CreateOptions(): it runs the plugin asynchronously with a time limit (ExecCredentialTimeout) and again after a 401.");
        }
    }
}
