namespace LockFree.Balancing.Http;

/// <summary>When the handler ends a request's lease (its in-flight count on the picked endpoint).</summary>
public enum LeaseRelease
{
    /// <summary>
    /// When the response body has been read to its end, or the response (or its content) is disposed, whichever comes
    /// first: in-flight counts include streaming time. The response content is wrapped to see this (a small allocation).
    /// </summary>
    ResponseEnd = 0,

    /// <summary>As soon as the response headers arrive: no wrapping, but a long streamed body no longer counts as load.</summary>
    ResponseHeaders = 1,
}
