using LockFree.Balancing.Load;

namespace LockFree.Balancing.Randomness;

/// <summary>
/// A weighted draw table over the endpoints of one scope that were not ejected when it was built, with the
/// conditions under which it is still true: the detector's <c>OutlierDetector.Epoch</c> unchanged and the
/// clock before the earliest end of the ejections it excludes.
/// </summary>
/// <remarks>
/// Immutable. Built on a pick path only when the ejection set changed since the last one (ejections are rare,
/// picks are hot); bounded placements read its <see cref="TotalWeight"/> through the same cache. Published by one reference write on its scope; two threads building at once both build
/// the same table and the last write wins.
/// </remarks>
internal sealed class AvailableDraws
{
    private AvailableDraws(long epoch, long validUntil, AliasTable draws, long totalWeight)
    {
        Epoch = epoch;
        ValidUntil = validUntil;
        Draws = draws;
        TotalWeight = totalWeight;
    }

    /// <summary>The detector's epoch read before the table was built.</summary>
    public long Epoch { get; }

    /// <summary>The earliest end of an excluded ejection: from then on an excluded endpoint may be available.</summary>
    public long ValidUntil { get; }

    /// <summary>Draws a snapshot index among the available endpoints, by weight; empty when every one was ejected.</summary>
    public AliasTable Draws { get; }

    /// <summary>The sum of the weights of the available endpoints: what bounded-load capacities are shares of.</summary>
    public long TotalWeight { get; }

    /// <summary>True while the table still describes the ejections in force at <paramref name="now"/>.</summary>
    public bool IsCurrent(long epoch, long now) => epoch == Epoch && now < ValidUntil;

    /// <summary>Builds the table over <paramref name="scope"/>'s endpoints not ejected at <paramref name="now"/>.</summary>
    /// <param name="snapshot">The snapshot the scope belongs to.</param>
    /// <param name="scope">The scope whose endpoints the table covers.</param>
    /// <param name="epoch">The detector's epoch, read before this call.</param>
    /// <param name="now">The clock reading ejections are judged at.</param>
    public static AvailableDraws Build(BalancerSnapshot snapshot, PickScope scope, long epoch, long now)
    {
        List<int> indexes = new(scope.Pickable.Length);
        List<int> weights = new(scope.Pickable.Length);
        long validUntil = long.MaxValue;
        long totalWeight = 0;
        Load.StateReads.Add(scope.Pickable.Length);
        foreach (int index in scope.Pickable)
        {
            long until = Volatile.Read(ref snapshot.States[index].EjectedUntil);
            if (now < until)
            {
                validUntil = Math.Min(validUntil, until);
                continue;
            }

            indexes.Add(index);
            weights.Add(snapshot.Endpoints[index].Weight);
            totalWeight += snapshot.Endpoints[index].Weight;
        }

        return new AvailableDraws(epoch, validUntil, AliasTable.Build([.. indexes], [.. weights]), totalWeight);
    }
}
