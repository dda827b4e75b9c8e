using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using k8s.Authentication;

namespace LockFree.Balancing.KubernetesClient;

/// <summary>Builds the handler a mapped configuration needs: its CA, client certificate, TLS server name and token provider.</summary>
internal static class TransportFactory
{
    public static HttpMessageHandler Create(
        X509Certificate2Collection? authorities,
        bool insecureSkipTlsVerify,
        X509Certificate2? clientCertificate,
        ITokenProvider? tokenProvider,
        string? tlsServerName,
        bool disableHttp2)
    {
        var sockets = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            AutomaticDecompression = DecompressionMethods.None,
            // Liveness as client-go has it: an HTTP/2 PING after 30 s without a frame, dropped after 15 s unanswered;
            // TCP keep-alive for HTTP/1.1, where nothing else finds a half-open connection.
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(15),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            ConnectCallback = ConnectWithKeepAliveAsync,
        };
        if (insecureSkipTlsVerify)
        {
            // Only an explicit SkipTlsVerify that the caller also allowed by argument gets here.
#pragma warning disable CA5359
            sockets.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (authorities is not null)
        {
            sockets.SslOptions.RemoteCertificateValidationCallback = ServerCertificateTrust.Create(authorities);
        }

        if (clientCertificate is not null)
        {
            // Presented whatever acceptable issuers the server lists (API servers list their client CA; proxies may list none).
            sockets.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate;
        }

        return tokenProvider is null && tlsServerName is null && !disableHttp2
            ? sockets
            : new ConfigurationRequestHandler(sockets, tokenProvider, tlsServerName, disableHttp2);
    }

    private static async ValueTask<Stream> ConnectWithKeepAliveAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 30);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 10);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
