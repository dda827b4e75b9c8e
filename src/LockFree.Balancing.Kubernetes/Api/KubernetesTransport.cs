using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Kubernetes.Api;

/// <summary>
/// The connection to the API server that watchers share: one HTTP handler (and its connection pool) and one
/// credential source. A <see cref="Sharing.KubernetesWatchRegistry"/> builds one for all its watchers, so that over
/// HTTP/2 every watch of the process is a stream on one TLS connection, and an exec plugin runs once for all of them.
/// </summary>
/// <remarks>
/// <para>
/// Dead connections are found the ways client-go finds them (<c>k8s.io/apimachinery/pkg/util/net/http.go</c>,
/// <c>readIdleTimeout</c> 30 s and <c>pingTimeout</c> 15 s): over HTTP/2 (negotiated by ALPN on <c>https://</c>
/// servers) a PING after <see cref="PingDelay"/> without a frame, the connection dropped when the answer takes longer
/// than <see cref="PingTimeout"/>; over HTTP/1.1 TCP keep-alive probes (<see cref="TcpKeepAliveTime"/>, then every
/// <see cref="TcpKeepAliveInterval"/>, <see cref="TcpKeepAliveProbes"/> unanswered probes). A plain <c>http://</c>
/// server (kubectl proxy) is spoken to in HTTP/1.1 only: h2c with prior knowledge would break every HTTP/1.1 proxy.
/// The watcher's read-idle deadline (<see cref="KubernetesWatcherOptions.IdleTimeout"/>) is the backstop for a
/// server that answers pings but sends nothing.
/// </para>
/// <para>Thread-safe: the handler and the credential sources are.</para>
/// </remarks>
internal sealed class KubernetesTransport : IDisposable
{
    /// <summary>HTTP/2 read-idle time before a PING, as client-go's <c>ReadIdleTimeout</c>.</summary>
    public static readonly TimeSpan PingDelay = TimeSpan.FromSeconds(30);

    /// <summary>How long a PING may go unanswered before the connection is dropped, as client-go's <c>PingTimeout</c>.</summary>
    public static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(15);

    /// <summary>TCP idle time before the first keep-alive probe, in seconds.</summary>
    public const int TcpKeepAliveTime = 30;

    /// <summary>Seconds between TCP keep-alive probes.</summary>
    public const int TcpKeepAliveInterval = 10;

    /// <summary>Unanswered TCP keep-alive probes before the connection is dropped.</summary>
    public const int TcpKeepAliveProbes = 3;

    private readonly bool _ownsHandler;
    private readonly KubernetesWatcherOptions _options;
    private readonly Lock _swapGate = new();
    private HttpMessageHandler _handler;   // replaced (under _swapGate) when an exec plugin rotates the client certificate
    private HttpClient _client;            // published with a volatile write; read per request
    private bool _disposed;                // guarded by _swapGate

    private KubernetesTransport(KubernetesWatcherOptions options, HttpMessageHandler handler, bool ownsHandler, ICredentialSource credentials, Version version, string? hostHeader)
    {
        _options = options;
        HostHeader = hostHeader;
        _handler = handler;
        _client = NewClient(handler);
        _ownsHandler = ownsHandler;
        Credentials = credentials;
        RequestVersion = version;
        if (ownsHandler && credentials is ExecCredentialSource exec)
        {
            exec.CertificateRotated = CloseAllConnections;
        }
    }

    /// <summary>The current handler (replaced when an exec plugin rotates the client certificate).</summary>
    public HttpMessageHandler Handler => Volatile.Read(ref _handler);

    /// <summary>The client every request of every watcher on this transport goes through; take it per request.</summary>
    public HttpClient Client => Volatile.Read(ref _client);

    /// <summary>
    /// The <c>Host</c> each request carries for a kubeconfig <c>tls-server-name</c>, or <see langword="null"/>:
    /// <see cref="SocketsHttpHandler"/> takes the TLS server name (SNI and the certificate check) from it, as client-go
    /// takes it from <c>tls.Config.ServerName</c>; kube-apiserver does not route on it.
    /// </summary>
    public string? HostHeader { get; }

    public ICredentialSource Credentials { get; }

    /// <summary>2.0 (or lower, as ALPN decides) for <c>https://</c>; exactly 1.1 for <c>http://</c> and with <see cref="KubernetesWatcherOptions.DisableHttp2"/>.</summary>
    public Version RequestVersion { get; }

    public HttpVersionPolicy RequestVersionPolicy => RequestVersion == HttpVersion.Version20 ? HttpVersionPolicy.RequestVersionOrLower : HttpVersionPolicy.RequestVersionExact;

    /// <summary>Builds the transport for validated <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">The certificate authority file cannot be read.</exception>
    public static KubernetesTransport Create(KubernetesWatcherOptions options, ILogger logger)
    {
        ICredentialSource credentials = options.CredentialSource
            ?? (options.ExecCredential is ExecCredentialSettings exec
            ? new ExecCredentialSource(exec, options.TimeProvider, options.ExecCredentialTimeout, logger)
            : new BearerTokenSource(options.BearerToken, options.BearerTokenFile, options.TimeProvider, options.ClientCertificate, logger));
        try
        {
            HttpMessageHandler handler = options.HttpHandler ?? CreateHandler(options, credentials);
            Version version = options.ApiServer.Scheme == Uri.UriSchemeHttps && !options.DisableHttp2 ? HttpVersion.Version20 : HttpVersion.Version11;
            string? host = options.TlsServerName is string name && options.ApiServer.Scheme == Uri.UriSchemeHttps
                ? (options.ApiServer.IsDefaultPort ? name : name + ":" + options.ApiServer.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))
                : null;
            return new KubernetesTransport(options, handler, ownsHandler: options.HttpHandler is null, credentials, version, host);
        }
        catch
        {
            if (options.CredentialSource is null)
            {
                (credentials as IDisposable)?.Dispose();
            }

            throw;
        }
    }

    public void Dispose()
    {
        lock (_swapGate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _client.Dispose();
            if (_ownsHandler)
            {
                _handler.Dispose();
            }
        }

        if (_options.CredentialSource is null)
        {
            (Credentials as IDisposable)?.Dispose(); // built here; a source handed in through the options is shared
        }
    }

    /// <summary>
    /// A new client certificate: a fresh handler for every request from now on, and the old one disposed, which
    /// closes its pooled connections (open watches break and reconnect with the new certificate), as client-go's
    /// <c>connTracker.CloseAll()</c>.
    /// </summary>
    internal void CloseAllConnections()
    {
        HttpClient oldClient;
        HttpMessageHandler oldHandler;
        lock (_swapGate)
        {
            if (_disposed)
            {
                return;
            }

            oldClient = _client;
            oldHandler = _handler;
            HttpMessageHandler fresh = CreateHandler(_options, Credentials);
            Volatile.Write(ref _handler, fresh);
            Volatile.Write(ref _client, NewClient(fresh));
        }

        oldClient.Dispose();
        oldHandler.Dispose();
    }

    private static HttpClient NewClient(HttpMessageHandler handler) => new(handler, disposeHandler: false)
    {
        Timeout = Timeout.InfiniteTimeSpan, // watches are long; every call carries its own deadline
    };

    private static SocketsHttpHandler CreateHandler(KubernetesWatcherOptions options, ICredentialSource credentials)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.RequestTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            AutomaticDecompression = DecompressionMethods.None,

            // HTTP/2 liveness, as client-go: PING after 30 s without a frame, even while only watches are open.
            KeepAlivePingDelay = PingDelay,
            KeepAlivePingTimeout = PingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,

            // Watches multiplex on one connection; a second one opens only when the server's
            // SETTINGS_MAX_CONCURRENT_STREAMS is reached (kube-apiserver: 100 to 1000), where false would queue the
            // next watch until another one ends (up to WatchTimeout).
            EnableMultipleHttp2Connections = true,
            ConnectCallback = ConnectWithKeepAliveAsync,
        };
        if (options.Proxy is Uri proxy)
        {
            // kubeconfig proxy-url: that proxy for every request, whatever HTTPS_PROXY says (as kubectl).
            handler.Proxy = new WebProxy(proxy);
            handler.UseProxy = true;
        }
        X509Certificate2Collection? authorities = options.CertificateAuthorities
            ?? (options.CertificateAuthorityFile is string caFile ? CertificateAuthorityValidator.Load(caFile) : null);
        if (options.InsecureSkipTlsVerify)
        {
            // Only a kubeconfig's explicit insecure-skip-tls-verify gets here: the user turned verification off.
#pragma warning disable CA5359
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (authorities is not null)
        {
            // Trust the cluster CA only; without it the machine's trust store applies.
            handler.SslOptions.RemoteCertificateValidationCallback = CertificateAuthorityValidator.Create(authorities);
        }

        if (credentials.ClientCertificate is not null || options.ExecCredential is not null)
        {
            // Asked per new connection, so a certificate an exec plugin renews is used from the next connection on.
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => credentials.ClientCertificate!;
        }

        return handler;
    }

    /// <summary>Connects as <see cref="SocketsHttpHandler"/> does by default, with TCP keep-alive on.</summary>
    internal static async ValueTask<Stream> ConnectWithKeepAliveAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            EnableKeepAlive(socket);
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal static void EnableKeepAlive(Socket socket)
    {
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, TcpKeepAliveTime);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, TcpKeepAliveInterval);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, TcpKeepAliveProbes);
        }
        catch (SocketException)
        {
            // A platform without per-socket timings keeps the system's (keep-alive itself is on); the read-idle
            // deadline still bounds detection.
        }
        catch (PlatformNotSupportedException)
        {
        }
    }
}
