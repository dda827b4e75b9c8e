namespace LockFree.Balancing.Kubernetes;

/// <summary>How a <see cref="KubernetesEndpointWatcher"/> reaches the API server and reacts to it.</summary>
/// <remarks>The watcher copies and validates the options when it is created; later changes have no effect.</remarks>
public sealed class KubernetesWatcherOptions
{
    /// <summary>The address <c>kubectl proxy</c> serves on, the original endpoints library's default.</summary>
    public static readonly Uri KubectlProxyAddress = new("http://127.0.0.1:8001/");

    /// <summary>The API server's base address (a path prefix is kept). Default: <see cref="KubectlProxyAddress"/>.</summary>
    public Uri ApiServer { get; set; } = KubectlProxyAddress;

    /// <summary>A bearer token sent as <c>Authorization: Bearer</c>; <see langword="null"/> for none (kubectl proxy). Never logged or recorded.</summary>
    public string? BearerToken { get; set; }

    /// <summary>
    /// A file holding the bearer token (the in-cluster one is <c>/var/run/secrets/kubernetes.io/serviceaccount/token</c>):
    /// re-read at most every minute and again after any 401, so rotated tokens are picked up. Exclusive with <see cref="BearerToken"/>.
    /// </summary>
    public string? BearerTokenFile { get; set; }

    /// <summary>
    /// A PEM file with the CA that signed the API server's certificate (in a pod: <c>ca.crt</c> of the service account).
    /// When set, exactly this CA is trusted; otherwise the machine's trust store is. TLS verification is never turned off.
    /// Ignored when <see cref="HttpHandler"/> is set.
    /// </summary>
    public string? CertificateAuthorityFile { get; set; }

    /// <summary>
    /// An HTTP handler to use instead of the default <see cref="SocketsHttpHandler"/> (for client certificates or a custom CA).
    /// The caller keeps ownership, and the default's liveness settings (HTTP/2 PING after 30 s idle with a 15 s
    /// timeout, TCP keep-alive) are then the caller's to make; the read-idle deadline (<see cref="IdleTimeout"/>) applies either way.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    /// <summary>Which address family feeds the balancer. Default: <see cref="AddressFamilyPreference.PreferIPv4"/>.</summary>
    public AddressFamilyPreference AddressFamily { get; set; } = AddressFamilyPreference.PreferIPv4;

    /// <summary>When no endpoint is ready, use the serving-and-terminating ones, as kube-proxy does during rollouts. Default: off.</summary>
    public bool UseTerminatingEndpointsWhenNoneReady { get; set; }

    /// <summary>
    /// Get the initial state with a streaming list (a WATCH with <c>sendInitialEvents=true</c>, Kubernetes 1.27+ with the
    /// WatchList feature) instead of paged LISTs: the state arrives as ADDED events and is complete at the
    /// <c>k8s.io/initial-events-end</c> bookmark, and the same stream goes on as the watch. When the server refuses it
    /// (400, 403, 422) or twice in a row ends it (or stays silent for <see cref="RequestTimeout"/>) before that bookmark,
    /// the watcher falls back to LIST + WATCH for good. <see cref="KubernetesEndpointWatcher.SyncOnceAsync"/> always LISTs.
    /// Default: off.
    /// </summary>
    public bool UseStreamingList { get; set; }

    /// <summary>
    /// Watch the legacy core/v1 <c>Endpoints</c> object of the Service (<c>/api/v1/namespaces/{ns}/endpoints</c>,
    /// selected by name) instead of EndpointSlices, for clusters older than 1.21. Each subset's named ports are
    /// resolved for that subset; <c>addresses</c> are ready, <c>notReadyAddresses</c> are not. Needs get, list and
    /// watch on <c>endpoints</c> in the core group. Deprecated by Kubernetes since 1.33; not combinable with
    /// <see cref="UseStreamingList"/> (which needs 1.27+). Default: off.
    /// </summary>
    public bool UseLegacyEndpoints { get; set; }

    /// <summary>
    /// The <c>limit</c> of each LIST page, sent as client-go sends it: with <c>resourceVersion=0</c> (the watch cache of
    /// servers before 1.33 ignores it and answers in one page) and with consistent reads from etcd; not with a relist
    /// from a known version, which the watch cache serves only without a limit. Default: 500.
    /// </summary>
    public int ListPageSize { get; set; } = 500;

    /// <summary>The <c>timeoutSeconds</c> asked of each WATCH; the server ends the watch then and the watcher resumes. Default: 290 s.</summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromSeconds(290);

    /// <summary>
    /// How long a watch stream may stay silent before it is treated as dead and reconnected from its last
    /// resourceVersion: the read-idle deadline, the backstop under HTTP/2 pings and TCP keep-alive. kube-apiserver's
    /// watch cache sends every watch that asks for bookmarks (this adapter always asks) one about every minute, so
    /// a healthy watch is never silent much longer than 60 s. Default: 75 s (1.25 × that cadence), which with the
    /// default backoff re-establishes a silently dead watch within 90 s. Raise it above <see cref="WatchTimeout"/>
    /// for a server that sends no bookmarks (watch cache disabled), or its quiet watches reconnect every
    /// <see cref="IdleTimeout"/>.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(75);

    /// <summary>
    /// How often a full LIST replaces the state even when the watch is healthy (±10 % jitter), at the end of the current
    /// watch; <see cref="Timeout.InfiniteTimeSpan"/> for never. Default: never. A watch resumed from its last
    /// resourceVersion misses no change, and client-go's reflector never relists while its watch is healthy (its
    /// "resync" replays the local cache to handlers and calls no API): a periodic LIST only adds API-server load.
    /// Set it to guard against a server you do not trust to deliver every event.
    /// </summary>
    public TimeSpan ResyncInterval { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>The time allowed for a LIST page, and for a WATCH to answer with its headers. Default: 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The first reconnect delay after a failure; it doubles with every further failure. Default: 0.5 s.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The largest reconnect delay. Default: 30 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest accepted watch event; a larger one abandons the stream and relists. Default: 16 MiB.</summary>
    public int MaxEventBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>The largest accepted LIST page body. Default: 64 MiB.</summary>
    public int MaxListPageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>The longest a kubeconfig <c>exec</c> credential plugin may run before it is stopped and the attempt fails. Default: 30 s.</summary>
    public TimeSpan ExecCredentialTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Certificate authorities from a kubeconfig (<c>certificate-authority(-data)</c>); exclusive with <see cref="CertificateAuthorityFile"/>.</summary>
    internal System.Security.Cryptography.X509Certificates.X509Certificate2Collection? CertificateAuthorities { get; set; }

    /// <summary>A kubeconfig's <c>insecure-skip-tls-verify: true</c>: the only way verification is turned off, because the user wrote it there.</summary>
    internal bool InsecureSkipTlsVerify { get; set; }

    /// <summary>A kubeconfig user's client certificate with its key, for mutual TLS.</summary>
    internal System.Security.Cryptography.X509Certificates.X509Certificate2? ClientCertificate { get; set; }

    /// <summary>A kubeconfig user's exec credential plugin.</summary>
    internal Api.ExecCredentialSettings? ExecCredential { get; set; }

    /// <summary>A kubeconfig cluster's <c>tls-server-name</c>: the name the server certificate must carry (and the SNI), instead of the server's host.</summary>
    internal string? TlsServerName { get; set; }

    /// <summary>
    /// Where each request's token (and the client certificate) come from instead of <see cref="BearerToken"/>,
    /// <see cref="BearerTokenFile"/> or <see cref="ExecCredential"/>: a KubernetesClient <c>ITokenProvider</c> mapped by
    /// LockFree.Balancing.KubernetesClient. Shared by every transport built from these options, which never dispose it
    /// (a transport disposes only the sources it builds).
    /// </summary>
    internal Api.ICredentialSource? CredentialSource { get; set; }

    /// <summary>Keep <c>https://</c> requests on HTTP/1.1 (KubernetesClient's <c>DisableHttp2</c>); TCP keep-alive still finds dead connections.</summary>
    internal bool DisableHttp2 { get; set; }

    /// <summary>A kubeconfig cluster's <c>proxy-url</c> (http, https or socks5): every request goes through it.</summary>
    internal Uri? Proxy { get; set; }

    /// <summary>
    /// Where the watcher logs (category <c>LockFree.Balancing.Kubernetes.KubernetesEndpointWatcher</c>, event ids 100–199):
    /// endpoint-set changes (counts, Information), API errors (Warning), relists, credential reloads. Never a token.
    /// Default: <see langword="null"/>, no logging.
    /// </summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Where the watcher's meter (<c>LockFree.Balancing.Kubernetes</c>: <c>lockfree.kubernetes.*</c>) comes from, so
    /// that it belongs to (and is disposed with) a DI container; the DI registration sets the container's.
    /// Default: <see langword="null"/>, one process-wide meter.
    /// </summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; set; }

    /// <summary>The clock for timeouts and backoff. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The random source for backoff jitter; seed it for reproducible tests. Default: a new <see cref="System.Random"/>. Used by one loop only.</summary>
    public Random? Random { get; set; }

    /// <summary>The directory Kubernetes mounts a pod's service account into.</summary>
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>
    /// Options for running inside a pod: the API server from <c>KUBERNETES_SERVICE_HOST</c> and
    /// <c>KUBERNETES_SERVICE_PORT</c> over HTTPS, the CA from <c>ca.crt</c> and the token from <c>token</c>
    /// (re-read every minute and after a 401) in the service-account directory.
    /// </summary>
    /// <param name="serviceAccountDirectory">Where the service account is mounted.</param>
    /// <returns>New options; the caller may change the rest.</returns>
    /// <exception cref="InvalidOperationException">The process is not in a pod: the variables are missing or invalid.</exception>
    public static KubernetesWatcherOptions InCluster(string serviceAccountDirectory = ServiceAccountDirectory)
        => InCluster(Environment.GetEnvironmentVariable, serviceAccountDirectory);

    /// <summary>The namespace of the pod's service account (the <c>namespace</c> file), for <see cref="ServiceReference.Parse(string, string)"/>'s default.</summary>
    /// <param name="serviceAccountDirectory">Where the service account is mounted.</param>
    /// <returns>The namespace, or <see langword="null"/> when the file is missing or empty.</returns>
    public static string? ReadServiceAccountNamespace(string serviceAccountDirectory = ServiceAccountDirectory)
    {
        ArgumentNullException.ThrowIfNull(serviceAccountDirectory);
        try
        {
            string text = File.ReadAllText(Path.Combine(serviceAccountDirectory, "namespace")).Trim();
            return text.Length == 0 ? null : text;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    internal static KubernetesWatcherOptions InCluster(Func<string, string?> environment, string serviceAccountDirectory)
    {
        ArgumentNullException.ThrowIfNull(serviceAccountDirectory);
        string? host = environment("KUBERNETES_SERVICE_HOST");
        string? port = environment("KUBERNETES_SERVICE_PORT");
        if (string.IsNullOrWhiteSpace(host) || string.IsNullOrWhiteSpace(port))
        {
            throw new InvalidOperationException("Not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set.");
        }

        string authority = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
        if (!Uri.TryCreate($"https://{authority}/", UriKind.Absolute, out Uri? server))
        {
            throw new InvalidOperationException($"KUBERNETES_SERVICE_HOST '{host}' and KUBERNETES_SERVICE_PORT '{port}' do not form a valid address.");
        }

        return new KubernetesWatcherOptions
        {
            ApiServer = server,
            BearerTokenFile = Path.Combine(serviceAccountDirectory, "token"),
            CertificateAuthorityFile = Path.Combine(serviceAccountDirectory, "ca.crt"),
        };
    }

    internal KubernetesWatcherOptions Validated()
    {
        ArgumentNullException.ThrowIfNull(ApiServer);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        if (!ApiServer.IsAbsoluteUri || (ApiServer.Scheme != Uri.UriSchemeHttp && ApiServer.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The API server address '{ApiServer}' must be an absolute http or https URL.", nameof(ApiServer));
        }

        Positive(WatchTimeout, nameof(WatchTimeout));
        Positive(IdleTimeout, nameof(IdleTimeout));
        Positive(RequestTimeout, nameof(RequestTimeout));
        if (ResyncInterval != Timeout.InfiniteTimeSpan && ResyncInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ResyncInterval), ResyncInterval, "ResyncInterval must be positive, or Timeout.InfiniteTimeSpan (\"-00:00:00.001\" in configuration) for no periodic relist, the default.");
        }
        Positive(InitialBackoff, nameof(InitialBackoff));
        Positive(MaxBackoff, nameof(MaxBackoff));
        Positive(ExecCredentialTimeout, nameof(ExecCredentialTimeout));
        if (UseLegacyEndpoints && UseStreamingList)
        {
            throw new ArgumentException("UseStreamingList needs Kubernetes 1.27 or later and UseLegacyEndpoints is for clusters older than 1.21; choose one.", nameof(UseStreamingList));
        }
        if (CertificateAuthorities is not null && !string.IsNullOrEmpty(CertificateAuthorityFile))
        {
            throw new ArgumentException("The kubeconfig (or the mapped KubernetesClient configuration's SslCaCerts) already sets the certificate authority; do not set CertificateAuthorityFile as well.", nameof(CertificateAuthorityFile));
        }

        if (CredentialSource is not null && (ExecCredential is not null || !string.IsNullOrEmpty(BearerToken) || !string.IsNullOrEmpty(BearerTokenFile)))
        {
            throw new ArgumentException("The mapped KubernetesClient configuration already supplies the credentials (its TokenProvider); do not set BearerToken or BearerTokenFile as well.", nameof(BearerToken));
        }

        if (ExecCredential is not null && (!string.IsNullOrEmpty(BearerToken) || !string.IsNullOrEmpty(BearerTokenFile)))
        {
            throw new ArgumentException("The kubeconfig user authenticates with an exec plugin; do not set BearerToken or BearerTokenFile as well.", nameof(BearerToken));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(ListPageSize, 1, nameof(ListPageSize));
        if (!string.IsNullOrEmpty(BearerToken) && !string.IsNullOrEmpty(BearerTokenFile))
        {
            throw new ArgumentException("Set BearerToken or BearerTokenFile, not both.", nameof(BearerTokenFile));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxEventBytes, 1024, nameof(MaxEventBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxListPageBytes, 1024, nameof(MaxListPageBytes));
        if (MaxBackoff < InitialBackoff)
        {
            throw new ArgumentException("MaxBackoff must not be smaller than InitialBackoff.", nameof(MaxBackoff));
        }

        return new KubernetesWatcherOptions
        {
            ApiServer = ApiServer,
            BearerToken = BearerToken,
            BearerTokenFile = string.IsNullOrEmpty(BearerTokenFile) ? null : BearerTokenFile,
            HttpHandler = HttpHandler,
            CertificateAuthorityFile = string.IsNullOrEmpty(CertificateAuthorityFile) ? null : CertificateAuthorityFile,
            AddressFamily = AddressFamily,
            UseTerminatingEndpointsWhenNoneReady = UseTerminatingEndpointsWhenNoneReady,
            UseStreamingList = UseStreamingList,
            UseLegacyEndpoints = UseLegacyEndpoints,
            ListPageSize = ListPageSize,
            WatchTimeout = WatchTimeout,
            IdleTimeout = IdleTimeout,
            RequestTimeout = RequestTimeout,
            ResyncInterval = ResyncInterval,
            InitialBackoff = InitialBackoff,
            MaxBackoff = MaxBackoff,
            MaxEventBytes = MaxEventBytes,
            MaxListPageBytes = MaxListPageBytes,
            TimeProvider = TimeProvider,
            ExecCredentialTimeout = ExecCredentialTimeout,
            LoggerFactory = LoggerFactory,
            MeterFactory = MeterFactory,
            CertificateAuthorities = CertificateAuthorities,
            InsecureSkipTlsVerify = InsecureSkipTlsVerify,
            ClientCertificate = ClientCertificate,
            ExecCredential = ExecCredential,
            TlsServerName = TlsServerName,
            CredentialSource = CredentialSource,
            DisableHttp2 = DisableHttp2,
            Proxy = Proxy,
            Random = Random ?? new Random(),
        };
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
        }
    }
}
