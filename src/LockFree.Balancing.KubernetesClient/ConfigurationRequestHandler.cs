using System.Net;
using System.Net.Http.Headers;
using k8s.Authentication;

namespace LockFree.Balancing.KubernetesClient;

/// <summary>
/// The per-request part of a mapped <c>KubernetesClientConfiguration</c>, in front of the TLS handler: the bearer header
/// from its <see cref="ITokenProvider"/>, the <c>TlsServerName</c> as the request's host (SocketsHttpHandler sends
/// it as SNI and checks the server certificate against it) and HTTP/1.1 when <c>DisableHttp2</c> is set.
/// </summary>
/// <remarks>
/// The token provider is asked for every request; KubernetesClient's providers cache and refresh their token
/// themselves (a token file is re-read every minute) and offer no way to drop it after a 401, so a rejected token
/// is retried with the watcher's backoff until the provider refreshes it. The token is never put in a message.
/// Thread-safe: no mutable state of its own.
/// </remarks>
internal sealed class ConfigurationRequestHandler(HttpMessageHandler inner, ITokenProvider? tokenProvider, string? tlsServerName, bool disableHttp2)
    : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (tlsServerName is not null)
        {
            request.Headers.Host = request.RequestUri is { IsDefaultPort: false } uri ? $"{tlsServerName}:{uri.Port}" : tlsServerName;
        }

        if (disableHttp2)
        {
            request.Version = HttpVersion.Version11;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        if (tokenProvider is not null && request.Headers.Authorization is null)
        {
            AuthenticationHeaderValue? header;
            try
            {
                header = await tokenProvider.GetAuthenticationHeaderAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The adapter reports transport failures and retries them with backoff; the provider's own message
                // says why it failed (a token file it cannot read, an OIDC refresh that failed).
                throw new HttpRequestException($"the KubernetesClient token provider {tokenProvider.GetType().Name} failed: {ex.Message}", ex);
            }

            request.Headers.Authorization = header;
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
