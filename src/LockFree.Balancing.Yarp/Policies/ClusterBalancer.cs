using LockFree.Balancing.Load;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// One LockFree policy's state for one YARP cluster: the core balancer and the published <see cref="DestinationTable"/>.
/// </summary>
/// <remarks>
/// <para>
/// Control plane apart from data plane: a pick reads <see cref="Current"/> once (directly, or to check the table its
/// thread used last, <see cref="RecentTable"/>) and compares its source list with the list YARP hands it, by reference. Only when YARP publishes a new available-destination list (a destination added,
/// removed, changed, or its health changed) does one pick take <see cref="_gate"/> and run <see cref="Refresh"/>: a
/// list with the same destinations reuses the table; otherwise the core is updated (endpoints that stay keep their
/// in-flight counts) and a new table is published with one <see cref="Volatile.Write{T}(ref T, T)"/>.
/// </para>
/// <para>The core is replaced only when the cluster's LockFree settings change (another key source or load factor).</para>
/// </remarks>
internal sealed class ClusterBalancer
{
    private readonly PolicyKind _kind;
    private readonly string _policyName;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private DestinationTable? _table;   // written under _gate, read lock-free

    public ClusterBalancer(LockFreeLoadBalancingPolicy policy, TimeProvider timeProvider, ILogger logger)
    {
        Policy = policy;
        _kind = policy.Kind;
        _policyName = policy.Name;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The policy this state belongs to.</summary>
    public LockFreeLoadBalancingPolicy Policy { get; }

    /// <summary>The published table, or <see langword="null"/> before the first pick.</summary>
    public DestinationTable? Current => Volatile.Read(ref _table);

    /// <summary>How many times a new table was built over a changed destination set (for tests).</summary>
    internal int Rebuilds { get; private set; }

    /// <summary>Publishes a table for <paramref name="available"/> under <paramref name="config"/>, reusing what it can.</summary>
    /// <exception cref="LockFreeConfigException">The cluster's settings or a destination address cannot be used (the configuration filter lets none through).</exception>
    public DestinationTable Refresh(ClusterState cluster, ClusterConfig config, IReadOnlyList<DestinationState> available)
    {
        lock (_gate)
        {
            DestinationTable? current = _table;
            if (current is not null && ReferenceEquals(current.Source, available) && ReferenceEquals(current.Config, config))
            {
                return current; // another pick refreshed it first
            }

            // Step 1 – settings: re-read only when the configuration object changed; equal settings keep the core.
            ClusterSettings settings = current is not null && ReferenceEquals(current.Config, config) ? current.Settings : ClusterSettings.Parse(config, _kind);
            LoadBalancer core = current is not null && current.Settings == settings ? current.Core : settings.CreateCore(_timeProvider);

            // Step 2 – the same destinations in a new list object (a health flip and back, a config reload without change).
            DestinationTable next;
            if (current is not null && ReferenceEquals(core, current.Core) && current.HasSameDestinations(available))
            {
                next = current.WithSource(available, config);
            }
            else
            {
                next = Build(this, cluster.ClusterId, available, config, settings, core);
                Rebuilds++;
                Log.TableBuilt(_logger, cluster.ClusterId, _policyName, next.Entries.Count, available.Count);
            }

            // Step 3 – publish; picks from now on read the new table.
            Volatile.Write(ref _table, next);
            return next;
        }
    }

    private static DestinationTable Build(ClusterBalancer owner, string clusterId, IReadOnlyList<DestinationState> available, ClusterConfig config, ClusterSettings settings, LoadBalancer core)
    {
        // Step 1 – each destination as a core endpoint; a second destination with the same host and port is left out
        // (the configuration filter refuses such clusters, so only a race with a reload gets here).
        var destinations = new DestinationState[available.Count];
        var byKey = new Dictionary<string, (DestinationState Destination, Endpoint Endpoint)>(available.Count, StringComparer.Ordinal);
        for (int i = 0; i < destinations.Length; i++)
        {
            DestinationState destination = available[i];
            destinations[i] = destination;
            if (!DestinationEndpoints.TryCreate(destination.DestinationId, destination.Model.Config, out Endpoint? endpoint, out string? problem))
            {
                throw new LockFreeConfigException(clusterId, "Address", problem);
            }

            byKey.TryAdd(endpoint.Key, (destination, endpoint));
        }

        // Step 2 – the core's set; endpoints that stay keep their states (and in-flight counts).
        core.Update(byKey.Values.Select(static pair => pair.Endpoint));

        // Step 3 – each state of the new snapshot, mapped to its destination.
        BalancerSnapshot snapshot = core.CurrentSnapshot;
        var entries = new Dictionary<EndpointState, DestinationTable.Entry>(snapshot.States.Length, ReferenceEqualityComparer.Instance);
        for (int i = 0; i < snapshot.States.Length; i++)
        {
            if (byKey.TryGetValue(snapshot.Endpoints[i].Key, out var pair))
            {
                EndpointState state = snapshot.States[i];
                entries[state] = new DestinationTable.Entry(pair.Destination, new HeldLease(state));
            }
        }

        return new DestinationTable(owner, available, config, settings, core, snapshot, entries, destinations);
    }
}
