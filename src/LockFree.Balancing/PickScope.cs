namespace LockFree.Balancing;

/// <summary>
/// The endpoints one pick chooses among, with the picker's index over them: every pickable endpoint of a snapshot,
/// or the caller's local set under topology preference. Pickers derive from it to add their index (ring, Maglev
/// table, cycle, draw table), built over these endpoints only; indexes everywhere are the snapshot's.
/// </summary>
/// <remarks>Immutable after construction, like the snapshot that holds it.</remarks>
internal class PickScope
{
    public PickScope(Endpoint[] endpoints, int[] pickable)
    {
        Pickable = pickable;
        long totalWeight = 0;
        foreach (int index in pickable)
        {
            totalWeight += endpoints[index].Weight;
        }

        TotalWeight = totalWeight;
        FastModMultiplier = FastModulo.Multiplier(pickable.Length);
    }

    /// <summary>The snapshot indexes of this scope's endpoints, all with weight above 0, ascending.</summary>
    public int[] Pickable { get; }

    /// <summary>The sum of the weights of <see cref="Pickable"/>.</summary>
    public long TotalWeight { get; }

    /// <summary>Lemire's fast-modulo multiplier for <c>Pickable.Length</c>.</summary>
    public ulong FastModMultiplier { get; }

    /// <summary><c>value % Pickable.Length</c> without a division.</summary>
    public int Modulo(uint value) => FastModulo.Reduce(value, Pickable.Length, FastModMultiplier);

    /// <summary>The weights of <see cref="Pickable"/>, in the same order.</summary>
    public int[] Weights(Endpoint[] endpoints)
    {
        int[] weights = new int[Pickable.Length];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = endpoints[Pickable[i]].Weight;
        }

        return weights;
    }
}
