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
/// A pick: the cluster's table from the thread's last one (<see cref="RecentTable"/>; else one lock-free lookup per
/// cluster in a <see cref="ConditionalWeakTable{TKey, TValue}"/>, as YARP's round robin keeps its counters), one
/// reference comparison of YARP's list with the table's, the key read as a slice of the request's own strings, then
/// one of two placements. Nothing is allocated and nothing is rebuilt while YARP's list is unchanged.
/// </para>
/// <para>
/// Policies that read in-flight counts (power of two choices, bounded loads; <see cref="ClusterSettings.CountsAtPick"/>)
/// place with a core acquire, which counts the request on the chosen endpoint so that concurrent picks see each other;
/// the count is marked on the request (<see cref="HeldLease"/>) and released by <see cref="LeaseReleasingForwarder"/>
/// when the forwarder returns. The others (round robin, unbounded hashing) read no count: the core picks an index,
/// mapped to the destination with one array read, and the forwarder wrapper counts the request while it is forwarded.
/// </para>
/// </remarks>
internal sealed class LockFreeLoadBalancingPolicy : ILoadBalancingPolicy
{
    private readonly PolicyKind _kind;
    private readonly string _name;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly YarpMetrics _metrics;
    private readonly ConditionalWeakTable<ClusterState, ClusterBalancer> _clusters = new();
    private readonly ConditionalWeakTable<ClusterState, ClusterBalancer>.CreateValueCallback _create;

    public LockFreeLoadBalancingPolicy(PolicyKind kind, TimeProvider timeProvider, ILogger logger, YarpMetrics? metrics = null)
    {
        _kind = kind;
        _name = kind.Name();
        _metrics = metrics ?? YarpMetrics.Shared;
        _timeProvider = timeProvider;
        _logger = logger;
        _create = _ => new ClusterBalancer(this, _timeProvider, _logger);
    }

    public string Name => _name;

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

        // PERF: the table this thread used last when it is this cluster's current one for this very list (the common
        // case); otherwise the per-cluster lookup, and a rebuild only when YARP's list changed.
        ClusterConfig config = cluster.Model.Config;
        bool foreign = false;
        DestinationTable? table = RecentTable.Current;
        if (table is null || !table.Serves(this, availableDestinations, config))
        {
            table = Lookup(cluster, config, availableDestinations, span, out foreign);
        }

        return table.CountsAtPick
            ? PlaceCounted(context, cluster, table, availableDestinations, foreign, span)
            : PlaceUncounted(context, cluster, table, availableDestinations, foreign, span);
    }

    /// <summary>The cluster's table for YARP's list, through the per-cluster lookup; remembered as the thread's last.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DestinationTable Lookup(ClusterState cluster, ClusterConfig config, IReadOnlyList<DestinationState> available, Activity? span, out bool foreign)
    {
        ClusterBalancer balancer = _clusters.GetValue(cluster, _create);
        DestinationTable? table = balancer.Current;
        foreign = false;
        if (table is null || !ReferenceEquals(table.Source, available) || !ReferenceEquals(table.Config, config))
        {
            try
            {
                table = Refresh(balancer, cluster, config, available, out foreign);
            }
            catch (Exception ex) when (span is not null)
            {
                YarpTracing.Failed(span, cluster.ClusterId, Name, ex.GetType().FullName ?? "_OTHER", ex.Message); // LockFreeConfigException: the exception goes on
                throw;
            }
        }

        RecentTable.Current = table;
        return table;
    }

    /// <summary>Power of two choices and bounded loads: the core acquire counts the request; the count rides on the request.</summary>
    private DestinationState? PlaceCounted(HttpContext context, ClusterState cluster, DestinationTable table, IReadOnlyList<DestinationState> available, bool foreign, Activity? span)
    {
        if (!TryAcquire(context, table, out EndpointLease lease))
        {
            return Unplaced(cluster, table, span); // every destination has weight 0: YARP answers 503
        }

        _metrics.Picked(Name, cluster.ClusterId, lease.Outcome);

        EndpointState state = lease.TakeState()!;
        DestinationTable.Entry? entry = Find(table, state);
        if (entry is null || (foreign && !Contains(available, entry.Destination)))
        {
            return PickOutsideTable(cluster, state, available, lease.Outcome, span);
        }

        entry.Lease.HoldOn(context);
        if (span is not null)
        {
            YarpTracing.Picked(span, cluster.ClusterId, Name, lease.Endpoint, lease.Outcome);
        }

        return entry.Destination;
    }

    /// <summary>Round robin and unbounded hashing: an index into the core's snapshot, mapped by the table's array; nothing counted here.</summary>
    private DestinationState? PlaceUncounted(HttpContext context, ClusterState cluster, DestinationTable table, IReadOnlyList<DestinationState> available, bool foreign, Activity? span)
    {
        int index = PickIndex(context, table, out BalancerSnapshot snapshot, out PickOutcome outcome);
        if (index < 0)
        {
            return Unplaced(cluster, table, span);
        }

        _metrics.Picked(Name, cluster.ClusterId, outcome);

        // A core update published by another pick's refresh gives an index into a snapshot this table does not map.
        DestinationTable.Entry? entry = ReferenceEquals(snapshot, table.Snapshot) ? table.BySnapshotIndex[index] : Find(table, snapshot.States[index]);
        if (entry is null || (foreign && !Contains(available, entry.Destination)))
        {
            return PickOutsideTable(cluster, state: null, available, outcome, span);
        }

        if (span is not null)
        {
            YarpTracing.Picked(span, cluster.ClusterId, Name, snapshot.Endpoints[index], outcome);
        }

        return entry.Destination;
    }

    /// <summary>No destination could take the request (every one has weight 0): counted as a pick with no outcome.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DestinationState? Unplaced(ClusterState cluster, DestinationTable table, Activity? span)
    {
        _metrics.Picked(Name, cluster.ClusterId, outcome: null);
        if (span is not null)
        {
            NoEndpointsReason reason = table.Core.GetUnavailableReason() ?? NoEndpointsReason.NoEndpoints;
            YarpTracing.Failed(span, cluster.ClusterId, Name, PickSpan.ErrorTypeOf(reason), PickSpan.DescriptionOf(reason));
        }

        return null;
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

    private static int PickIndex(HttpContext context, DestinationTable table, out BalancerSnapshot snapshot, out PickOutcome outcome)
    {
        LoadBalancer core = table.Core;
        if (table.Settings.Key is not HashKeySource source)
        {
            return core.PickIndex(out snapshot, out outcome);
        }

        // The key as TryAcquire reads it: a key lands where it would with bounded loads, and where the other integrations place it.
        Span<byte> bytes = stackalloc byte[AddressBytes.MaxLength];
        ReadOnlySpan<char> text = source.Read(context, bytes, out int byteCount);
        if (byteCount > 0)
        {
            return core.PickIndex(bytes[..byteCount], out snapshot, out outcome);
        }

        // No key: spread as if the request carried a fresh random key.
        return text.IsEmpty ? core.PickIndex(out snapshot, out outcome) : core.PickIndex(text, out snapshot, out outcome);
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
    private static DestinationTable.Entry? Find(DestinationTable table, EndpointState state)
    {
        if (table.Entries.TryGetValue(state, out DestinationTable.Entry? entry))
        {
            return entry;
        }

        return table.Owner.Current is { } newer && newer.Entries.TryGetValue(state, out entry) ? entry : null;
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
    /// with a set change). A count the pick took goes back and the request takes a destination of YARP's list without
    /// one (the forwarder wrapper counts it while it is forwarded).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DestinationState PickOutsideTable(ClusterState cluster, EndpointState? state, IReadOnlyList<DestinationState> available, PickOutcome outcome, Activity? span)
    {
        state?.ReleaseUnrecorded();
        DestinationState outside = available[Random.Shared.Next(available.Count)];
        if (span is not null)
        {
            EndOutside(span, cluster.ClusterId, outside, outcome);
        }

        return outside;
    }
}
