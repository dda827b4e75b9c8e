using System.Runtime.CompilerServices;
using LockFree.Balancing.Load;
using LockFree.Balancing.Randomness;

namespace LockFree.Balancing;

/// <summary>
/// The endpoints one pick chooses among, with the picker's index over them: every pickable endpoint of a snapshot,
/// or the caller's local set under topology preference. Pickers derive from it to add their index (ring, Maglev
/// table, cycle, draw table), built over these endpoints only; indexes everywhere are the snapshot's.
/// </summary>
/// <remarks>
/// Immutable after construction, like the snapshot that holds it, except for one cache: the draw table over the
/// endpoints not currently ejected (<see cref="AvailableDraws"/>), rebuilt when the ejection set changes and
/// published by one reference write.
/// </remarks>
internal class PickScope
{
    private AvailableDraws? _available;

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

    /// <summary>
    /// A snapshot index drawn with probability proportional to its weight from one random value. Pickers with a
    /// weighted index (alias table, cycle) override this; the default draws uniformly, right for equal weights.
    /// </summary>
    public virtual int DrawByWeight(ulong random) => Pickable[Modulo((uint)(random >> 32))];

    /// <summary>
    /// A snapshot index drawn by weight among the endpoints not ejected at <paramref name="now"/>, or -1 when every one
    /// is ejected; O(1) while the ejection set is unchanged, O(n) with an allocation once after each change.
    /// </summary>
    public int DrawAvailable(BalancerSnapshot snapshot, OutlierDetector ejection, long now, ulong random)
    {
        AvailableDraws available = Available(snapshot, ejection, now);
        return available.Draws.Count == 0 ? -1 : available.Draws.Draw(random);
    }

    /// <summary>
    /// The endpoints of this scope not ejected at <paramref name="now"/>, with their total weight: the cached table
    /// while the ejection set is unchanged (O(1)), else rebuilt once (O(n), one allocation) and cached for later calls.
    /// </summary>
    public AvailableDraws Available(BalancerSnapshot snapshot, OutlierDetector ejection, long now)
    {
        long epoch = ejection.Epoch;
        AvailableDraws? available = Volatile.Read(ref _available);
        return available is not null && available.IsCurrent(epoch, now) ? available : RebuildAvailable(snapshot, epoch, now);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private AvailableDraws RebuildAvailable(BalancerSnapshot snapshot, long epoch, long now)
    {
        AvailableDraws built = AvailableDraws.Build(snapshot, this, epoch, now);
        Volatile.Write(ref _available, built);
        return built;
    }

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
