using System.Security.Cryptography.X509Certificates;

namespace LockFree.Balancing.Kubernetes.Api;

/// <summary>Where each request's credentials come from: a token (fixed, a file, an exec plugin) and, for mutual TLS, a client certificate.</summary>
/// <remarks>Implementations are thread-safe and never put a token in a message.</remarks>
internal interface ICredentialSource
{
    /// <summary>The bearer token for the next request, or <see langword="null"/> for none.</summary>
    /// <exception cref="KubernetesApiException">The credentials could not be obtained (an exec plugin failed).</exception>
    ValueTask<string?> GetAsync(CancellationToken cancellationToken);

    /// <summary>After a 401: obtain fresh credentials before the next request.</summary>
    void Invalidate();

    /// <summary>Why the last refresh failed while older credentials were kept, or <see langword="null"/>.</summary>
    string? LastReadError { get; }

    /// <summary>The client certificate (with its private key) for new TLS connections, or <see langword="null"/>.</summary>
    X509Certificate2? ClientCertificate { get; }
}
