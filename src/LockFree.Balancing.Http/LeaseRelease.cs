namespace LockFree.Balancing.Http;

/// <summary>When the handler ends a request's lease (its in-flight count on the picked endpoint).</summary>
public enum LeaseRelease
{
    /// <summary>
    /// When the response body has been read to its end, or the response (or its content) is disposed, whichever comes
    /// first: in-flight counts include streaming time. A body that declares a Content-Length of at most
    /// <see cref="KubernetesBalancingOptions.MaxBufferedBodyBytes"/> (16 KiB by default) is read into memory by the handler itself (what
    /// <see cref="HttpClient"/> does anyway unless asked for <see cref="HttpCompletionOption.ResponseHeadersRead"/>), so
    /// the lease ends right there; any other body is wrapped so that its end is seen (a small allocation).
    /// </summary>
    ResponseEnd = 0,

    /// <summary>As soon as the response headers arrive: no wrapping, but a long streamed body no longer counts as load.</summary>
    ResponseHeaders = 1,
}
