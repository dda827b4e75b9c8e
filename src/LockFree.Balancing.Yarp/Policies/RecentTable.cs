namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// The destination table this thread used last, in front of the policies' per-cluster
/// <see cref="System.Runtime.CompilerServices.ConditionalWeakTable{TKey, TValue}"/>: a pick for the same cluster and list
/// finds its table with one thread-static read and four reference comparisons (<see cref="DestinationTable.Serves"/>),
/// and the forwarder wrapper, which runs on the picking thread unless middleware between the two awaited, finds the
/// cluster's table the same way.
/// </summary>
/// <remarks>
/// <para>
/// PERF: per thread rather than one field per policy, so that picks for several clusters on many threads never write a
/// shared cache line; a thread alternating between clusters pays the lookup it paid before, plus one thread-static
/// write. A hit is only ever a table the lookup would return (the policy's current table for that cluster's list and
/// configuration objects), so the cache changes no pick.
/// </para>
/// <para>
/// It keeps the last table each thread used reachable (its destinations and core) until that thread picks again for
/// another cluster: a removed cluster's table can outlive it by that long; its requests were already released or are
/// released through the states they hold.
/// </para>
/// </remarks>
internal static class RecentTable
{
    [ThreadStatic]
    private static DestinationTable? t_table;

    /// <summary>The table this thread used last, or <see langword="null"/>.</summary>
    public static DestinationTable? Current
    {
        get => t_table;
        set => t_table = value;
    }
}
