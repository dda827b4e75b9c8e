using System.Globalization;
using System.Net.Http.Headers;
using Grpc.Net.Client.Balancer;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// Counts a balanced gRPC call as in flight until its response body ends, not only until its response headers
/// (where grpc-dotnet completes <see cref="ISubchannelCallTracker"/>), and feeds outlier ejection with the call's
/// <c>grpc-status</c>. Put it on the channel's handler chain: <c>GrpcChannelOptions.HttpHandler = new
/// GrpcCallTrackingHandler(new SocketsHttpHandler())</c>, or <c>AddGrpcClient(...).AddHttpMessageHandler(() => new
/// GrpcCallTrackingHandler())</c>.
/// </summary>
/// <remarks>
/// Requests that were not placed by a LockFree policy pass through untouched. Thread-safe; one instance may serve many
/// calls. Without it, streaming calls count only until their headers and ejection sees transport errors only.
/// </remarks>
public sealed class GrpcCallTrackingHandler : DelegatingHandler
{
    // grpc-dotnet's BalancerHttpHandler puts the picked subchannel on the request under this name.
    private static readonly HttpRequestOptionsKey<Subchannel> SubchannelKey = new("Subchannel");

    /// <summary>Creates the handler; set <see cref="DelegatingHandler.InnerHandler"/> (or let IHttpClientFactory do it).</summary>
    public GrpcCallTrackingHandler()
    {
    }

    /// <summary>Creates the handler over <paramref name="innerHandler"/>.</summary>
    /// <param name="innerHandler">The transport, normally a <see cref="SocketsHttpHandler"/>.</param>
    public GrpcCallTrackingHandler(HttpMessageHandler innerHandler)
        : base(innerHandler)
    {
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        HttpResponseMessage response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!request.Options.TryGetValue(SubchannelKey, out Subchannel? subchannel)
            || !SubchannelCallTracker.TryFind(subchannel, out SubchannelCallTracker? tracker))
        {
            return response;
        }

        // A trailers-only response (the usual shape of an error) carries its status in the headers: the tracker's
        // Complete, which grpc-dotnet calls when this method returns, reports it.
        if (StatusOf(response.Headers) is int status)
        {
            if (tracker.IsFailure(status))
            {
                tracker.FailureAtHeaders();
            }

            return response;
        }

        // Step 1 – the Complete grpc-dotnet calls when this method returns keeps the call's count instead of releasing it
        // (counting once more here and releasing at Complete would count the call twice for that moment).
        tracker.Hold();
        // Step 2 – the body's end (or the response's disposal) releases the hold, once.
        response.Content = new TrackedContent(response.Content, response, tracker);
        return response;
    }

    internal static int? StatusOf(HttpHeaders headers)
    {
        if (headers.NonValidated.TryGetValues("grpc-status", out HeaderStringValues values))
        {
            foreach (string value in values)
            {
                return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int code) ? code : null;
            }
        }

        return null;
    }

    private sealed class TrackedContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly HttpResponseMessage _response;
        private readonly SubchannelCallTracker _tracker;
        private int _released;

        public TrackedContent(HttpContent inner, HttpResponseMessage response, SubchannelCallTracker tracker)
        {
            _inner = inner;
            _response = response;
            _tracker = tracker;
            foreach (KeyValuePair<string, HeaderStringValues> header in inner.Headers.NonValidated)
            {
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

        public void End(bool completed)
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }

            if (completed && StatusOf(_response.TrailingHeaders) is int status && _tracker.IsFailure(status))
            {
                _tracker.FailureAtTrailers();
            }

            _tracker.ReleaseHold();
        }

        protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken)
            => new TrackedStream(await _inner.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), this);

        protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
        {
            try
            {
                await _inner.CopyToAsync(stream, context, cancellationToken).ConfigureAwait(false);
                End(completed: true);
            }
            finally
            {
                End(completed: false);
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
            => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                End(completed: false);
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private sealed class TrackedStream(Stream inner, TrackedContent owner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read;
            try
            {
                read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                owner.End(completed: false);
                throw;
            }

            if (read == 0 && buffer.Length > 0)
            {
                owner.End(completed: true);
            }

            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count)
        {
            int read = inner.Read(buffer, offset, count);
            if (read == 0 && count > 0)
            {
                owner.End(completed: true);
            }

            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                owner.End(completed: false);
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
