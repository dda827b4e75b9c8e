using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using k8s.Authentication;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Api;

namespace LockFree.Balancing.KubernetesClient;

/// <summary>
/// A KubernetesClient <see cref="ITokenProvider"/> (the <c>TokenFileAuth</c> of <c>InClusterConfig()</c>, OIDC, your
/// own) as the adapter's credential source: the transport asks it for every request, as KubernetesClient's own
/// handler does, and presents the mapped client certificate, if any, on new TLS connections.
/// </summary>
/// <remarks>
/// KubernetesClient's providers cache and refresh their token themselves (a token file is re-read every minute) and
/// offer no way to drop it after a 401, so <see cref="Invalidate"/> has nothing to do: a rejected token is retried
/// with the watcher's backoff until the provider refreshes it. The token is never put in a message.
/// Thread-safe: no mutable state of its own; shared by every transport built from the same options, which never
/// dispose it (it owns nothing to dispose).
/// </remarks>
internal sealed class TokenProviderCredentialSource(ITokenProvider provider, X509Certificate2? clientCertificate) : ICredentialSource
{
    public X509Certificate2? ClientCertificate { get; } = clientCertificate;

    public string? LastReadError => null; // a failing provider throws; nothing older is kept in its place

    public async ValueTask<string?> GetAsync(CancellationToken cancellationToken)
    {
        AuthenticationHeaderValue? header;
        try
        {
            header = await provider.GetAuthenticationHeaderAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The adapter reports credential failures and retries them with backoff; the provider's own message says
            // why it failed (a token file it cannot read, an OIDC refresh that failed).
            throw new KubernetesApiException($"the KubernetesClient token provider {provider.GetType().Name} failed: {ex.Message}", ex);
        }

        if (header is null || string.IsNullOrEmpty(header.Parameter))
        {
            return null;
        }

        if (!string.Equals(header.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            throw new KubernetesApiException($"the KubernetesClient token provider {provider.GetType().Name} returned an Authorization header with scheme '{header.Scheme}'; the watcher sends bearer tokens only.");
        }

        return header.Parameter;
    }

    public void Invalidate()
    {
        // ITokenProvider has no call to drop a rejected token; the provider refreshes on its own schedule.
    }
}
