using System.Net.Http.Headers;
using System.Net;

namespace LockFree.Balancing.Http;

/// <summary>
/// The response content, wrapped so the lease ends with the response: when the body has been read to its end
/// (through a stream or by buffering), or when the content is disposed, whichever comes first; exactly once.
/// </summary>
/// <remarks>
/// Headers are copied from the inner content once, Content-Length included (a caller or proxy enumerating the
/// headers must see it). A body read that throws ends the lease as failed (the pod broke the response off); the
/// caller cancelling does not.
/// </remarks>
internal sealed class LeaseContent : HttpContent
{
    private readonly HttpContent _inner;
    private readonly BalancedService _service;
    private readonly bool _failed;
    private readonly int _statusCode;
    private EndpointLease _lease;
    private RequestMeasure _measure;
    private int _released;

    public LeaseContent(HttpContent inner, BalancedService service, EndpointLease lease, RequestMeasure measure, int statusCode, bool failed)
    {
        _inner = inner;
        _service = service;
        _lease = lease;
        _measure = measure;
        _statusCode = statusCode;
        _failed = failed;
        foreach (KeyValuePair<string, HeaderStringValues> header in inner.Headers.NonValidated)
        {
            // PERF: the single-value overload stores the string as is; the enumerable one allocates a list.
            if (header.Value.Count == 1)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value.ToString());
            }
            else
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }
    }

    /// <summary>Ends the lease once: as completed (or as the response's failure), or as failed when the body broke off.</summary>
    /// <param name="bodyFailed">Whether reading the body failed.</param>
    /// <param name="error">What broke the body off, for <c>error.type</c>; <see langword="null"/> otherwise.</param>
    public void Release(bool bodyFailed, Exception? error = null)
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _service.Release(ref _lease, _failed || bodyFailed, ref _measure, _statusCode, error is null ? null : BalancingMetrics.ErrorType(error));
        }
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        try
        {
            await _inner.CopyToAsync(stream, context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Release(bodyFailed: true, ex);
            throw;
        }

        Release(bodyFailed: false);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        try
        {
            _inner.CopyTo(stream, context, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Release(bodyFailed: true, ex);
            throw;
        }

        Release(bodyFailed: false);
    }

    protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken)
        => new LeaseStream(await _inner.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), this);

    protected override Task<Stream> CreateContentReadStreamAsync()
        => CreateContentReadStreamAsync(CancellationToken.None);

    protected override Stream CreateContentReadStream(CancellationToken cancellationToken)
        => new LeaseStream(_inner.ReadAsStream(cancellationToken), this);

    protected override bool TryComputeLength(out long length)
    {
        // The Content-Length header was copied; an unknown length stays unknown.
        length = 0;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Release(bodyFailed: false);
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
