using System.Net;

namespace LockFree.Balancing.Kubernetes.Tests.Soak;

/// <summary>
/// Counts the WATCH responses the client holds at once: from the moment a watch request is sent until its response
/// (and so its connection) is disposed. The watcher is given this as its handler, so the count is the process's own.
/// </summary>
internal sealed class WatchCountingHandler : DelegatingHandler
{
    private int _open;
    private int _maxOpen;
    private int _watches;

    public WatchCountingHandler()
        : base(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
    {
    }

    /// <summary>The most watches held at the same time so far.</summary>
    public int MaxOpen => Volatile.Read(ref _maxOpen);

    /// <summary>Watches held now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Watch requests sent so far.</summary>
    public int Watches => Volatile.Read(ref _watches);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri?.Query.Contains("watch=true", StringComparison.Ordinal) != true)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        Interlocked.Increment(ref _watches);
        int open = Interlocked.Increment(ref _open);
        int max;
        while (open > (max = Volatile.Read(ref _maxOpen)) && Interlocked.CompareExchange(ref _maxOpen, open, max) != max)
        {
        }

        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken);
        }
        catch
        {
            Interlocked.Decrement(ref _open);
            throw;
        }

        response.Content = new ClosingContent(response.Content, () => Interlocked.Decrement(ref _open));
        return response;
    }

    /// <summary>The response body, unchanged, with a callback run once when it is disposed.</summary>
    private sealed class ClosingContent : HttpContent
    {
        private readonly HttpContent _inner;
        private Action? _onClose;

        public ClosingContent(HttpContent inner, Action onClose)
        {
            _inner = inner;
            _onClose = onClose;
            foreach (KeyValuePair<string, IEnumerable<string>> header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override Task<Stream> CreateContentReadStreamAsync() => _inner.ReadAsStreamAsync();

        protected override Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) => _inner.ReadAsStreamAsync(cancellationToken);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => _inner.CopyToAsync(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                Interlocked.Exchange(ref _onClose, null)?.Invoke();
            }

            base.Dispose(disposing);
        }
    }
}
