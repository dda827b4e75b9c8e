using System.Collections.ObjectModel;
using LockFree.Balancing.Load;

namespace LockFree.Balancing;

/// <summary>
/// One immutable version of a balancer's endpoint set and everything a pick needs from it: the scope of every
/// pickable endpoint and, under topology preference, the scope of the caller's local ones, each with the picker's
/// index. The set and its indexes are published together by one reference swap, so a reader never sees one
/// without the other.
/// </summary>
/// <remarks>
/// Immutable after construction. The <see cref="States"/> objects it points to are shared with other
/// snapshots of the same balancer; only their counters change, and only atomically.
/// </remarks>
internal sealed class BalancerSnapshot
{
    /// <param name="version">The snapshot's version.</param>
    /// <param name="endpoints">The endpoints in ordinal key order.</param>
    /// <param name="states">Their shared counters.</param>
    /// <param name="all">Every pickable endpoint (see <see cref="PickableOf"/>) with the picker's index.</param>
    /// <param name="local">The caller's local endpoints with their own index, or <see langword="null"/>.</param>
    public BalancerSnapshot(long version, Endpoint[] endpoints, EndpointState[] states, PickScope all, PickScope? local)
    {
        Version = version;
        Endpoints = endpoints;
        States = states;
        ReadOnlyEndpoints = new ReadOnlyCollection<Endpoint>(endpoints);
        All = all;
        Local = local;
    }

    /// <summary>Increases by one with every published change; 0 for the initial empty set.</summary>
    public long Version { get; }

    /// <summary>The endpoints in ordinal key order; index i everywhere in a snapshot means this endpoint.</summary>
    public Endpoint[] Endpoints { get; }

    /// <summary>The shared counters, parallel to <see cref="Endpoints"/>.</summary>
    public EndpointState[] States { get; }

    /// <summary>Every endpoint with weight above 0, with the picker's index over them.</summary>
    public PickScope All { get; }

    /// <summary>
    /// The caller's local endpoints under topology preference, with their own index; <see langword="null"/> without a
    /// preference, or when no endpoint or every endpoint is local (then <see cref="All"/> serves alone).
    /// </summary>
    public PickScope? Local { get; }

    /// <summary>The indexes of endpoints with weight above 0, ascending.</summary>
    public int[] Pickable => All.Pickable;

    /// <summary>The sum of the weights of <see cref="Pickable"/>.</summary>
    public long TotalWeight => All.TotalWeight;

    /// <summary>A read-only view of <see cref="Endpoints"/>, made once so that reading it allocates nothing.</summary>
    public IReadOnlyList<Endpoint> ReadOnlyEndpoints { get; }

    /// <summary>The public view of this version: the endpoints with their version.</summary>
    public EndpointSetView View => new(Version, ReadOnlyEndpoints, Pickable.Length > 0);

    /// <summary><c>value % Pickable.Length</c> without a division.</summary>
    public int PickableModulo(uint value) => All.Modulo(value);

    /// <summary>True when endpoint <paramref name="index"/> belongs to <see cref="Local"/>, or there is no local set.</summary>
    public bool IsLocal(int index) => Local is not { } local || Array.BinarySearch(local.Pickable, index) >= 0;

    /// <summary>The indexes of <paramref name="endpoints"/> with weight above 0, ascending.</summary>
    public static int[] PickableOf(Endpoint[] endpoints)
    {
        int count = 0;
        foreach (Endpoint endpoint in endpoints)
        {
            count += endpoint.Weight > 0 ? 1 : 0;
        }

        int[] pickable = new int[count];
        for (int i = 0, next = 0; i < endpoints.Length; i++)
        {
            if (endpoints[i].Weight > 0)
            {
                pickable[next++] = i;
            }
        }

        return pickable;
    }
}
