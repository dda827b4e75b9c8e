namespace LockFree.Balancing;

/// <summary>Options of a <see cref="ConsistentHashBalancer"/>.</summary>
public sealed class ConsistentHashOptions : LoadBalancerOptions
{
    /// <summary>The default number of ring points per unit of weight: 160.</summary>
    /// <remarks>
    /// Peak/average key-space share falls as 1/√V. At V = 160 the busiest of 10, 100 and 1000 endpoints
    /// owns a median 1.12, 1.20 and 1.28 times its fair share (measured by the property tests, see
    /// docs/design.md), for 8 bytes of ring per point: 1.3 KB per endpoint and a ring of 160,000 points
    /// at 1000 endpoints, which still builds in milliseconds. Quadrupling V only halves the spread again.
    /// </remarks>
    public const int DefaultVirtualNodesPerEndpoint = 160;

    /// <summary>The largest accepted <see cref="VirtualNodesPerEndpoint"/>.</summary>
    public const int MaxVirtualNodesPerEndpoint = 10_000;

    /// <summary>The largest accepted <see cref="LoadFactor"/>.</summary>
    public const double MaxLoadFactor = Load.BoundedLoadPlacer.MaxLoadFactor;

    /// <summary>Ring points per unit of weight (V), 1–<see cref="MaxVirtualNodesPerEndpoint"/>; an endpoint of weight w gets w·V points.</summary>
    public int VirtualNodesPerEndpoint { get; set; } = DefaultVirtualNodesPerEndpoint;

    /// <summary>
    /// The bounded-load factor c (Mirrokni, Thorup, Zadimoghaddam, arXiv 1608.01350), or
    /// <see langword="null"/> for plain consistent hashing. When set, c must be above 1 and at most
    /// <see cref="MaxLoadFactor"/>, and is applied in steps of 0.001: an endpoint of weight w accepts a
    /// new request only while its in-flight count is below ⌈c · (total + 1) · w / W⌉ (never 0), where
    /// total counts every request in flight and W is the sum of weights. 1.25 is a good start.
    /// </summary>
    public double? LoadFactor { get; set; }
}
