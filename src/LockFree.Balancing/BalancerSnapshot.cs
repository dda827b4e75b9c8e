using System.Collections.ObjectModel;
using LockFree.Balancing.Load;

namespace LockFree.Balancing;

/// <summary>
/// One immutable version of a balancer's endpoint set and everything a pick needs from it.
/// Pickers derive from it to add their index (the hash ring, for example), so that the set and its
/// index are published together by one reference swap and a reader never sees one without the other.
/// </summary>
/// <remarks>
/// Immutable after construction. The <see cref="States"/> objects it points to are shared with other
/// snapshots of the same balancer; only their counters change, and only atomically.
/// </remarks>
internal class BalancerSnapshot
{
    public BalancerSnapshot(long version, Endpoint[] endpoints, EndpointState[] states)
    {
        Version = version;
        Endpoints = endpoints;
        States = states;
        ReadOnlyEndpoints = new ReadOnlyCollection<Endpoint>(endpoints);

        int pickableCount = 0;
        long totalWeight = 0;
        foreach (Endpoint endpoint in endpoints)
        {
            if (endpoint.Weight > 0)
            {
                pickableCount++;
                totalWeight += endpoint.Weight;
            }
        }

        int[] pickable = new int[pickableCount];
        for (int i = 0, next = 0; i < endpoints.Length; i++)
        {
            if (endpoints[i].Weight > 0)
            {
                pickable[next++] = i;
            }
        }

        Pickable = pickable;
        TotalWeight = totalWeight;
        PickableFastModMultiplier = FastModulo.Multiplier(pickableCount);
    }

    /// <summary>Increases by one with every published change; 0 for the initial empty set.</summary>
    public long Version { get; }

    /// <summary>The endpoints in ordinal key order; index i everywhere in a snapshot means this endpoint.</summary>
    public Endpoint[] Endpoints { get; }

    /// <summary>The shared counters, parallel to <see cref="Endpoints"/>.</summary>
    public EndpointState[] States { get; }

    /// <summary>The indexes of endpoints with weight above 0, ascending.</summary>
    public int[] Pickable { get; }

    /// <summary>The sum of the weights of <see cref="Pickable"/>.</summary>
    public long TotalWeight { get; }

    /// <summary>Lemire's fast-modulo multiplier for <c>Pickable.Length</c>.</summary>
    public ulong PickableFastModMultiplier { get; }

    /// <summary>A read-only view of <see cref="Endpoints"/>, made once so that reading it allocates nothing.</summary>
    public IReadOnlyList<Endpoint> ReadOnlyEndpoints { get; }

    /// <summary><c>value % Pickable.Length</c> without a division.</summary>
    public int PickableModulo(uint value) => FastModulo.Reduce(value, Pickable.Length, PickableFastModMultiplier);

    /// <summary>The weights of <see cref="Pickable"/>, in the same order.</summary>
    public int[] PickableWeights()
    {
        int[] weights = new int[Pickable.Length];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = Endpoints[Pickable[i]].Weight;
        }

        return weights;
    }
}
