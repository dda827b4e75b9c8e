using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using LockFree.Balancing.Load;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// Wraps YARP's <see cref="IHttpForwarder"/> so that the LockFree in-flight counts cover every request forwarded to a
/// LockFree cluster's destinations, until the forwarder returns (the request and response bodies have been copied, or
/// the attempt failed). YARP's <c>ForwarderMiddleware</c> keeps its own <c>DestinationState.ConcurrentRequestCount</c>
/// around the same call, so the two counts cover the same span; under the policies that read the counts (power of two
/// choices, bounded loads) ours starts earlier, at the pick, so that concurrent picks see each other.
/// </summary>
/// <remarks>
/// <para>
/// A request a counting policy placed carries a <see cref="HeldLease"/>: taken here and released when the call
/// returns. Every other request forwarded to a LockFree cluster's destination (placed by round robin or unbounded
/// hashing, which count nothing at the pick, or sent by YARP without asking the policy, as session affinity does) is
/// counted here, on the same counter, for the duration of the call, so bounded loads and power of two choices see it too.
/// </para>
/// <para>
/// Every other request (other policies, direct forwarding without YARP's pipeline, a cluster with one destination,
/// which YARP never balances) goes straight to the inner forwarder without an extra state machine.
/// </para>
/// </remarks>
internal sealed class LeaseReleasingForwarder : IHttpForwarder
{
    private readonly FrozenDictionary<string, LockFreeLoadBalancingPolicy> _policies;
    private readonly LockFreeLoadBalancingPolicy[] _served;

    public LeaseReleasingForwarder(IHttpForwarder inner, IEnumerable<ILoadBalancingPolicy> policies)
    {
        Inner = inner;
        _policies = policies.OfType<LockFreeLoadBalancingPolicy>()
            .GroupBy(static p => p.Name, StringComparer.OrdinalIgnoreCase)
            .ToFrozenDictionary(static g => g.Key, static g => g.First(), StringComparer.OrdinalIgnoreCase);
        _served = [.. _policies.Values];
    }

    /// <summary>The forwarder this one wraps.</summary>
    public IHttpForwarder Inner { get; }

    public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer)
        => SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer, CancellationToken.None);

    public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return TakeCount(context) is EndpointState counted
            ? SendAndReleaseAsync(counted, context, destinationPrefix, httpClient, requestConfig, transformer, cancellationToken)
            : Inner.SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer, cancellationToken);
    }

    /// <summary>
    /// The count <paramref name="context"/> holds while it is forwarded, now owned by the caller (release it once when
    /// the call returns): the one its pick took, else one taken here on the destination YARP chose; <see langword="null"/>
    /// for a request that is not forwarded to a LockFree cluster's destination.
    /// </summary>
    internal EndpointState? TakeCount(HttpContext context)
    {
        // Step 1 – the count a counting policy took at the pick (the mark is removed: a second call takes nothing).
        if (HeldLease.Take(context) is EndpointState held)
        {
            return held;
        }

        // Step 2 – count it (even if the set changed since: the request is on its way there).
        if (EntryOf(context) is not DestinationTable.Entry entry)
        {
            return null;
        }

        EndpointState state = entry.Lease.State;
        state.AddCall();
        return state;
    }

    // PERF: pooled state machines; a proxied request through a LockFree cluster adds no allocation of its own here.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ForwarderError> SendAndReleaseAsync(EndpointState counted, HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer, CancellationToken cancellationToken)
    {
        try
        {
            return await Inner.SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            counted.Release();
        }
    }

    /// <summary>The entry of the destination YARP chose for a LockFree cluster's request, if any.</summary>
    private DestinationTable.Entry? EntryOf(HttpContext context)
    {
        if (_served.Length == 0
            || context.Features.Get<IReverseProxyFeature>() is not { ProxiedDestination: { } destination } feature
            || feature.Cluster?.Config is not { } config)
        {
            return null;
        }

        // PERF: the table the pick on this thread used, when it is this cluster's current one under the policy the
        // configuration names (the forwarder middleware runs on the picking thread unless middleware between awaited).
        DestinationTable? table = RecentTable.Current;
        if (table is null || !ReferenceEquals(table.Config, config) || !table.NamedByConfig || !Serves(table.Owner.Policy) || !ReferenceEquals(table.Owner.Current, table))
        {
            table = CurrentTable(feature, config);
        }

        return table is not null && table.ByDestination.TryGetValue(destination, out DestinationTable.Entry? entry) ? entry : null;
    }

    /// <summary>The current table of the request's cluster under the LockFree policy its configuration names, if any.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DestinationTable? CurrentTable(IReverseProxyFeature feature, ClusterConfig config)
        => feature.Route?.Cluster is { } cluster
            && config.LoadBalancingPolicy is { } name
            && _policies.TryGetValue(name, out LockFreeLoadBalancingPolicy? policy)
            ? policy.StateOf(cluster)?.Current
            : null;

    private bool Serves(LockFreeLoadBalancingPolicy policy)
    {
        foreach (LockFreeLoadBalancingPolicy served in _served)
        {
            if (ReferenceEquals(served, policy))
            {
                return true;
            }
        }

        return false;
    }
}
