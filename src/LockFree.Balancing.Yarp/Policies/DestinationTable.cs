using LockFree.Balancing.Load;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// One published view of a cluster for a LockFree policy: the available-destination list it was built from (compared by
/// reference on every pick), the configuration object and settings, the core balancer, and for each core endpoint state
/// the destination it stands for. Immutable; replaced whole by <see cref="ClusterBalancer.Refresh"/>.
/// </summary>
internal sealed class DestinationTable
{
    public DestinationTable(
        IReadOnlyList<DestinationState> source,
        ClusterConfig config,
        ClusterSettings settings,
        LoadBalancer core,
        Dictionary<EndpointState, Entry> entries,
        DestinationState[] destinations)
    {
        Source = source;
        Config = config;
        Settings = settings;
        Core = core;
        Entries = entries;
        Destinations = destinations;
        Models = Array.ConvertAll(destinations, static d => d.Model);
        ByDestination = new Dictionary<DestinationState, Entry>(entries.Count, ReferenceEqualityComparer.Instance);
        foreach (Entry entry in entries.Values)
        {
            ByDestination[entry.Destination] = entry;
        }
    }

    /// <summary>YARP's available-destination list this table was built from.</summary>
    public IReadOnlyList<DestinationState> Source { get; }

    /// <summary>The cluster configuration object the settings were read from.</summary>
    public ClusterConfig Config { get; }

    public ClusterSettings Settings { get; }

    public LoadBalancer Core { get; }

    /// <summary>PERF: keyed by reference identity of the core's endpoint state; no string hashing per pick.</summary>
    public Dictionary<EndpointState, Entry> Entries { get; }

    /// <summary>The entries by destination, for requests YARP routed without the policy (session affinity).</summary>
    public Dictionary<DestinationState, Entry> ByDestination { get; }

    /// <summary>The destinations of <see cref="Source"/>, in its order, for the cheap same-contents check.</summary>
    public DestinationState[] Destinations { get; }

    /// <summary>The destinations' models when the table was built: YARP replaces a changed destination's model in place.</summary>
    public DestinationModel[] Models { get; }

    /// <summary>The same table for another list object with the same destinations.</summary>
    public DestinationTable WithSource(IReadOnlyList<DestinationState> source, ClusterConfig config)
        => new(source, config, Settings, Core, Entries, Destinations);

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

    /// <summary>A destination of the table with its release marker.</summary>
    internal sealed class Entry(DestinationState destination, HeldLease lease)
    {
        public DestinationState Destination { get; } = destination;

        public HeldLease Lease { get; } = lease;
    }
}
