using LockFree.Balancing.Kubernetes.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LockFree.Balancing.Kubernetes.Api;

/// <summary>
/// The bearer token for each request: a fixed string, or a file re-read at most every
/// <see cref="RefreshInterval"/> and again after any 401.
/// </summary>
/// <remarks>
/// Bound service-account tokens expire (one hour by default) and the kubelet rewrites the file at 80 % of their
/// lifetime, so a token read once at start-up stops working. A failed read keeps the previous token. The token is
/// never put in a message. Thread-safe: the cached value is an immutable pair swapped with a volatile write.
/// </remarks>
internal sealed class BearerTokenSource : ICredentialSource
{
    /// <summary>How long a token read from the file is used before the file is read again.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(1);

    private readonly string? _fixedToken;
    private readonly string? _path;
    private readonly TimeProvider _time;
    private Cached? _cached;

    private readonly ILogger _logger;

    public BearerTokenSource(string? fixedToken, string? path, TimeProvider time, System.Security.Cryptography.X509Certificates.X509Certificate2? clientCertificate = null, ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _fixedToken = string.IsNullOrEmpty(fixedToken) ? null : fixedToken;
        _path = path;
        _time = time;
        ClientCertificate = clientCertificate;
    }

    /// <summary>A fixed client certificate (kubeconfig <c>client-certificate</c> and <c>client-key</c>), or <see langword="null"/>.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? ClientCertificate { get; }

    /// <summary>The token for the next request, or <see langword="null"/> for none.</summary>
    public async ValueTask<string?> GetAsync(CancellationToken cancellationToken)
    {
        if (_path is null)
        {
            return _fixedToken;
        }

        Cached? cached = Volatile.Read(ref _cached);
        if (cached is not null && !cached.Invalidated && _time.GetElapsedTime(cached.ReadAt) < RefreshInterval)
        {
            return cached.Token;
        }

        try
        {
            string token = (await File.ReadAllTextAsync(_path, cancellationToken).ConfigureAwait(false)).Trim();
            if (cached is not null && !string.Equals(cached.Token, token.Length == 0 ? null : token, StringComparison.Ordinal))
            {
                Log.TokenFileReloaded(_logger, _path); // that it changed, never what it is
            }

            Volatile.Write(ref _cached, new Cached(token.Length == 0 ? null : token, _time.GetTimestamp(), Invalidated: false));
            LastReadError = null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Keep the previous token (if any); the request will tell whether it still works.
            LastReadError = $"the token file '{_path}' could not be read: {ex.Message}";
            Log.TokenFileUnreadable(_logger, _path, ex.Message);
        }

        return Volatile.Read(ref _cached)?.Token;
    }

    /// <summary>Why the last read of the token file failed, or <see langword="null"/>.</summary>
    public string? LastReadError { get; private set; }

    /// <summary>After a 401: read the file again before the next request.</summary>
    public void Invalidate()
    {
        Cached? cached = Volatile.Read(ref _cached);
        if (cached is not null)
        {
            Volatile.Write(ref _cached, cached with { Invalidated = true });
        }
    }

    private sealed record Cached(string? Token, long ReadAt, bool Invalidated);
}
