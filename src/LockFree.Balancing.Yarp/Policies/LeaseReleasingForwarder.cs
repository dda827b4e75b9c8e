using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// Wraps YARP's <see cref="IHttpForwarder"/> so that the LockFree in-flight counts cover every request forwarded to a
/// LockFree cluster's destinations, until the forwarder returns (the request and response bodies have been copied, or
/// the attempt failed). YARP's <c>ForwarderMiddleware</c> keeps its own <c>DestinationState.ConcurrentRequestCount</c>
/// around the same call, so the two counts cover the same span; ours starts earlier, at the pick, so that concurrent
/// picks see each other.
/// </summary>
/// <remarks>
/// <para>
/// A request a LockFree policy placed carries a <see cref="HeldLease"/>: released here. A request YARP sent to a
/// LockFree cluster's destination without asking the policy (session affinity pinned it) is counted here, on the same
/// counter, for the duration of the call, so bounded loads and power of two choices see it too.
/// </para>
/// <para>
/// Every other request (other policies, direct forwarding without YARP's pipeline, a cluster with one destination,
/// which YARP never balances) goes straight to the inner forwarder without an extra state machine.
/// </para>
/// </remarks>
internal sealed class LeaseReleasingForwarder : IHttpForwarder
{
    private readonly FrozenDictionary<string, LockFreeLoadBalancingPolicy> _policies;

    public LeaseReleasingForwarder(IHttpForwarder inner, IEnumerable<ILoadBalancingPolicy> policies)
    {
        Inner = inner;
        _policies = policies.OfType<LockFreeLoadBalancingPolicy>()
            .GroupBy(static p => p.Name, StringComparer.OrdinalIgnoreCase)
            .ToFrozenDictionary(static g => g.Key, static g => g.First(), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The forwarder this one wraps.</summary>
    public IHttpForwarder Inner { get; }

    public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer)
        => SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer, CancellationToken.None);

    public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Features.Get<HeldLease>() is null)
        {
            if (UnplacedEntry(context) is not DestinationTable.Entry entry)
            {
                return Inner.SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer, cancellationToken);
            }

            // Step 1 – count it (even if the set changed since: the request is on its way there), then mark it for release.
            entry.Lease.State.AddCall();
            context.Features.Set(entry.Lease);
        }

        return SendAndReleaseAsync(context, destinationPrefix, httpClient, requestConfig, transformer, cancellationToken);
    }

    // PERF: pooled state machines; a proxied request through a LockFree cluster adds no allocation of its own here.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
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

    /// <summary>The entry of the destination YARP chose for a LockFree cluster without asking the policy, if any.</summary>
    private DestinationTable.Entry? UnplacedEntry(HttpContext context)
    {
        if (_policies.Count == 0
            || context.Features.Get<IReverseProxyFeature>() is not { ProxiedDestination: { } destination } feature
            || feature.Route.Cluster is not { } cluster
            || feature.Cluster.Config.LoadBalancingPolicy is not { } name
            || !_policies.TryGetValue(name, out LockFreeLoadBalancingPolicy? policy)
            || policy.StateOf(cluster)?.Current is not { } table)
        {
            return null;
        }

        return table.ByDestination.TryGetValue(destination, out DestinationTable.Entry? entry) ? entry : null;
    }
}
