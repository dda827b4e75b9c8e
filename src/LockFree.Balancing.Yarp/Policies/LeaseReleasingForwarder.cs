using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// Wraps YARP's <see cref="IHttpForwarder"/> to release the in-flight count a LockFree policy took for the request once
/// the forwarder returns: the request and response bodies have been copied, or the attempt failed. YARP's
/// <c>ForwarderMiddleware</c> keeps its own <c>DestinationState.ConcurrentRequestCount</c> around the same call, so the
/// two counts cover the same span; ours is taken earlier, at the pick, so that concurrent picks see each other.
/// </summary>
/// <remarks>
/// Requests no LockFree policy placed (other clusters, a single available destination, session affinity, direct
/// forwarding) carry no <see cref="HeldLease"/> and go straight to the inner forwarder without an extra state machine.
/// </remarks>
internal sealed class LeaseReleasingForwarder(IHttpForwarder inner) : IHttpForwarder
{
    /// <summary>The forwarder this one wraps.</summary>
    public IHttpForwarder Inner { get; } = inner;

    public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer)
        => SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer, CancellationToken.None);

    public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Features.Get<HeldLease>() is null)
        {
            return Inner.SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer, cancellationToken);
        }

        return SendAndReleaseAsync(context, destinationPrefix, httpClient, requestConfig, transformer, cancellationToken);
    }

    private async ValueTask<ForwarderError> SendAndReleaseAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer, CancellationToken cancellationToken)
    {
        try
        {
            return await Inner.SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            HeldLease.ReleaseFrom(context);
        }
    }
}
