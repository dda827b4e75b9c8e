namespace LockFree.Balancing;

/// <summary>Options of a <see cref="RandomBalancer"/>.</summary>
public sealed class RandomOptions : LoadBalancerOptions
{
    /// <summary>A seed for reproducible runs (tests, simulations), or <see langword="null"/> (the default) for per-thread randomness.</summary>
    public int? Seed { get; set; }
}
