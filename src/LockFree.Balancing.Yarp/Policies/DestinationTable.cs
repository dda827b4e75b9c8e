using LockFree.Balancing.Load;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// One published view of a cluster for a LockFree policy: the available-destination list it was built from (compared by
/// reference on every pick), the configuration object and settings, the core balancer, and for each core endpoint the
/// destination it stands for, by snapshot index and by endpoint state. Immutable; replaced whole by
/// <see cref="ClusterBalancer.Refresh"/>.
/// </summary>
internal sealed class DestinationTable
{
    public DestinationTable(
        ClusterBalancer owner,
        IReadOnlyList<DestinationState> source,
        ClusterConfig config,
        ClusterSettings settings,
        LoadBalancer core,
        BalancerSnapshot snapshot,
        Dictionary<EndpointState, Entry> entries,
        DestinationState[] destinations)
    {
        Owner = owner;
        Source = source;
        Config = config;
        Settings = settings;
        Core = core;
        Snapshot = snapshot;
        Entries = entries;
        Destinations = destinations;
        CountsAtPick = settings.CountsAtPick;
        NamedByConfig = string.Equals(config.LoadBalancingPolicy, owner.Policy.Name, StringComparison.OrdinalIgnoreCase);
        Models = Array.ConvertAll(destinations, static d => d.Model);
        BySnapshotIndex = Array.ConvertAll(snapshot.States, state => entries.GetValueOrDefault(state));
        ByDestination = new Dictionary<DestinationState, Entry>(entries.Count, ReferenceEqualityComparer.Instance);
        foreach (Entry entry in entries.Values)
        {
            ByDestination[entry.Destination] = entry;
        }
    }

    /// <summary>The policy's state for the cluster this table serves.</summary>
    public ClusterBalancer Owner { get; }

    /// <summary>YARP's available-destination list this table was built from.</summary>
    public IReadOnlyList<DestinationState> Source { get; }

    /// <summary>The cluster configuration object the settings were read from.</summary>
    public ClusterConfig Config { get; }

    public ClusterSettings Settings { get; }

    public LoadBalancer Core { get; }

    /// <summary>The core's snapshot when the table was built: <see cref="BySnapshotIndex"/> maps its indexes.</summary>
    public BalancerSnapshot Snapshot { get; }

    /// <summary>
    /// The entry of each endpoint of <see cref="Snapshot"/>, by index (<see langword="null"/> for an endpoint with no
    /// destination here). PERF: an uncounted pick maps the core's index with one array read, as the gRPC picker does.
    /// </summary>
    public Entry?[] BySnapshotIndex { get; }

    /// <summary>PERF: keyed by reference identity of the core's endpoint state; no string hashing per counted pick.</summary>
    public Dictionary<EndpointState, Entry> Entries { get; }

    /// <summary>The entries by destination, for the forwarder wrapper, which counts the requests the policy did not.</summary>
    public Dictionary<DestinationState, Entry> ByDestination { get; }

    /// <summary>The destinations of <see cref="Source"/>, in its order, for the cheap same-contents check.</summary>
    public DestinationState[] Destinations { get; }

    /// <summary>The destinations' models when the table was built: YARP replaces a changed destination's model in place.</summary>
    public DestinationModel[] Models { get; }

    /// <summary>See <see cref="ClusterSettings.CountsAtPick"/>.</summary>
    public bool CountsAtPick { get; }

    /// <summary>True when <see cref="Config"/> names the owner's policy: YARP's pipeline asks that policy for this cluster's requests.</summary>
    public bool NamedByConfig { get; }

    /// <summary>
    /// True when this is the current table of <paramref name="policy"/>'s state for the cluster whose configuration is
    /// <paramref name="config"/> and whose list is <paramref name="list"/>: the answer the policy's per-cluster lookup
    /// would give, without it. A cluster's list and configuration objects are its own (YARP builds both per cluster).
    /// </summary>
    public bool Serves(LockFreeLoadBalancingPolicy policy, IReadOnlyList<DestinationState> list, ClusterConfig config)
        => ReferenceEquals(Source, list) && ReferenceEquals(Config, config) && ReferenceEquals(Owner.Policy, policy) && ReferenceEquals(Owner.Current, this);

    /// <summary>The same table for another list object with the same destinations.</summary>
    public DestinationTable WithSource(IReadOnlyList<DestinationState> source, ClusterConfig config)
        => new(Owner, source, config, Settings, Core, Snapshot, Entries, Destinations);

    /// <summary>True when <paramref name="list"/> holds the same destination objects, with the same models, in the same order.</summary>
    public bool HasSameDestinations(IReadOnlyList<DestinationState> list)
    {
        if (list.Count != Destinations.Length)
        {
            return false;
        }

        for (int i = 0; i < Destinations.Length; i++)
        {
            if (!ReferenceEquals(list[i], Destinations[i]) || !ReferenceEquals(list[i].Model, Models[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A destination of the table with its core endpoint state (and the request feature that says a request holds a count on it).</summary>
    internal sealed class Entry(DestinationState destination, HeldLease lease)
    {
        public DestinationState Destination { get; } = destination;

        public HeldLease Lease { get; } = lease;
    }
}
