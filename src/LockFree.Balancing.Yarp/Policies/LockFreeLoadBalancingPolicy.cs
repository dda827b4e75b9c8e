using System.Diagnostics;
using System.Runtime.CompilerServices;
using LockFree.Balancing.Load;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// A YARP <see cref="ILoadBalancingPolicy"/> backed by a LockFree core picker; one instance per policy name, shared by
/// every cluster that names it (as YARP's own policies are), with one <see cref="ClusterBalancer"/> per cluster.
/// </summary>
/// <remarks>
/// <para>
/// A pick: one lock-free table lookup per cluster (<see cref="ConditionalWeakTable{TKey, TValue}"/>, as YARP's round
/// robin keeps its counters), one reference comparison of YARP's list with the table's, the key read as a slice of the
/// request's own strings, one core acquire (which counts the request in flight on the chosen endpoint) and one
/// dictionary lookup from endpoint state to destination. Nothing is allocated and nothing is rebuilt while YARP's list
/// is unchanged.
/// </para>
/// <para>
/// The count the acquire took is marked on the request (<see cref="HeldLease"/>) and released by
/// <see cref="LeaseReleasingForwarder"/> when the forwarder returns, so bounded loads and power of two choices see the
/// requests actually being proxied.
/// </para>
/// </remarks>
internal sealed class LockFreeLoadBalancingPolicy : ILoadBalancingPolicy
{
    private readonly PolicyKind _kind;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly YarpMetrics _metrics;
    private readonly ConditionalWeakTable<ClusterState, ClusterBalancer> _clusters = new();
    private readonly ConditionalWeakTable<ClusterState, ClusterBalancer>.CreateValueCallback _create;

    public LockFreeLoadBalancingPolicy(PolicyKind kind, TimeProvider timeProvider, ILogger logger, YarpMetrics? metrics = null)
    {
        _kind = kind;
        _metrics = metrics ?? YarpMetrics.Shared;
        _timeProvider = timeProvider;
        _logger = logger;
        _create = _ => new ClusterBalancer(_kind, _timeProvider, _logger);
    }

    public string Name => _kind.Name();

    internal PolicyKind Kind => _kind;

    /// <summary>The state of <paramref name="cluster"/> under this policy, if it was picked for (for tests).</summary>
    internal ClusterBalancer? StateOf(ClusterState cluster) => _clusters.TryGetValue(cluster, out ClusterBalancer? state) ? state : null;

    public DestinationState? PickDestination(HttpContext context, ClusterState cluster, IReadOnlyList<DestinationState> availableDestinations)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(availableDestinations);
        // PERF: one HasListeners read when nobody traces; the span exists only for a pick a listener samples.
        Activity? span = PickSpan.Start(YarpTracing.Source);
        if (availableDestinations.Count == 0)
        {
            if (span is not null)
            {
                YarpTracing.Failed(span, cluster.ClusterId, Name, PickSpan.ErrorTypeOf(NoEndpointsReason.NoEndpoints), "no available destination");
            }

            return null;
        }

        ClusterBalancer balancer = _clusters.GetValue(cluster, _create);
        DestinationTable? table = balancer.Current;
        ClusterConfig config = cluster.Model.Config;
        bool foreign = false;
        if (table is null || !ReferenceEquals(table.Source, availableDestinations) || !ReferenceEquals(table.Config, config))
        {
            try
            {
                table = Refresh(balancer, cluster, config, availableDestinations, out foreign);
            }
            catch (Exception ex) when (span is not null)
            {
                YarpTracing.Failed(span, cluster.ClusterId, Name, ex.GetType().FullName ?? "_OTHER", ex.Message); // LockFreeConfigException: the exception goes on
                throw;
            }
        }

        if (!TryAcquire(context, table, out EndpointLease lease))
        {
            _metrics.Picked(Name, cluster.ClusterId, outcome: null);
            if (span is not null)
            {
                NoEndpointsReason reason = table.Core.GetUnavailableReason() ?? NoEndpointsReason.NoEndpoints;
                YarpTracing.Failed(span, cluster.ClusterId, Name, PickSpan.ErrorTypeOf(reason), PickSpan.DescriptionOf(reason));
            }

            return null; // every destination has weight 0: YARP answers 503
        }

        _metrics.Picked(Name, cluster.ClusterId, lease.Outcome);

        EndpointState state = lease.TakeState()!;
        DestinationTable.Entry? entry = Find(table, balancer, state);
        if (entry is null || (foreign && !Contains(availableDestinations, entry.Destination)))
        {
            DestinationState outside = PickOutsideTable(state, availableDestinations);
            if (span is not null)
            {
                EndOutside(span, cluster.ClusterId, outside, lease.Outcome);
            }

            return outside;
        }

        entry.Lease.HoldOn(context);
        if (span is not null)
        {
            YarpTracing.Picked(span, cluster.ClusterId, Name, lease.Endpoint, lease.Outcome);
        }

        return entry.Destination;
    }

    /// <summary>The span of a pick that ended outside the table: it names the destination the request really takes.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EndOutside(Activity span, string clusterId, DestinationState outside, PickOutcome outcome)
    {
        if (DestinationEndpoints.TryCreate(outside.DestinationId, outside.Model.Config, out Endpoint? endpoint, out string? problem))
        {
            YarpTracing.Picked(span, clusterId, Name, endpoint, outcome);
        }
        else
        {
            YarpTracing.Failed(span, clusterId, Name, typeof(LockFreeConfigException).FullName!, problem);
        }
    }

    /// <summary>The table for YARP's list: rebuilt for the cluster's own current list; a list other middleware narrowed (or a stale one) is served from the current table.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DestinationTable Refresh(ClusterBalancer balancer, ClusterState cluster, ClusterConfig config, IReadOnlyList<DestinationState> available, out bool foreign)
    {
        IReadOnlyList<DestinationState> clusterList = cluster.DestinationsState.AvailableDestinations;
        foreign = !ReferenceEquals(available, clusterList);
        DestinationTable? current = balancer.Current;
        if (foreign && current is not null && ReferenceEquals(current.Source, clusterList) && ReferenceEquals(current.Config, config))
        {
            return current;
        }

        return balancer.Refresh(cluster, config, foreign && clusterList.Count > 0 ? clusterList : available);
    }

    private static bool TryAcquire(HttpContext context, DestinationTable table, out EndpointLease lease)
    {
        LoadBalancer core = table.Core;
        if (table.Settings.Key is not HashKeySource source)
        {
            return core.TryAcquire(out lease);
        }

        Span<byte> bytes = stackalloc byte[AddressBytes.MaxLength];
        ReadOnlySpan<char> text = source.Read(context, bytes, out int byteCount);
        if (byteCount > 0)
        {
            return core.TryAcquire(bytes[..byteCount], out lease);
        }

        // No key: spread as if the request carried a fresh random key (bounded loads still apply).
        return text.IsEmpty ? core.TryAcquire(out lease) : core.TryAcquire(text, out lease);
    }

    // A core update published by another pick's refresh can hand out a state this (older) table does not know.
    private static DestinationTable.Entry? Find(DestinationTable table, ClusterBalancer balancer, EndpointState state)
    {
        if (table.Entries.TryGetValue(state, out DestinationTable.Entry? entry))
        {
            return entry;
        }

        return balancer.Current is { } newer && newer.Entries.TryGetValue(state, out entry) ? entry : null;
    }

    private static bool Contains(IReadOnlyList<DestinationState> list, DestinationState destination)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (ReferenceEquals(list[i], destination))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Rare path: the core chose a destination outside YARP's list (a list narrowed by custom middleware, or a race
    /// with a set change). The count goes back and the request takes a destination of YARP's list without one.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DestinationState PickOutsideTable(EndpointState state, IReadOnlyList<DestinationState> available)
    {
        state.ReleaseUnrecorded();
        return available[Random.Shared.Next(available.Count)];
    }
}
