using LockFree.Balancing.Maglev;

namespace LockFree.Balancing;

/// <summary>Options of a <see cref="MaglevBalancer"/>.</summary>
public sealed class MaglevOptions : LoadBalancerOptions
{
    /// <summary>The default table size M = 65537 (prime).</summary>
    public const int DefaultTableSize = MaglevTable.DefaultSize;

    /// <summary>The largest accepted table size.</summary>
    public const int MaxTableSize = MaglevTable.MaxSize;

    /// <summary>
    /// The table size M: a prime above the number of endpoints, up to <see cref="MaxTableSize"/>.
    /// Each endpoint's share is within about N/M of fair, so keep M above 100 × N: the default 65537
    /// suits up to ~650 endpoints; for thousands choose a larger prime such as 262147, 1048573 or 4194301.
    /// </summary>
    public int TableSize { get; set; } = DefaultTableSize;

    /// <summary>
    /// The bounded-load factor c, or <see langword="null"/> for plain Maglev; the same exact-capacity
    /// semantics as <see cref="ConsistentHashOptions.LoadFactor"/>.
    /// </summary>
    public double? LoadFactor { get; set; }
}
