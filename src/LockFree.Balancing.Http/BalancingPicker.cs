namespace LockFree.Balancing.Http;

/// <summary>The balancing algorithm behind <see cref="KubernetesBalancingOptions.Picker"/> and <see cref="KubernetesBalancingOptions.AffinityPicker"/>.</summary>
public enum BalancingPicker
{
    /// <summary>Power of two choices over in-flight counts (<see cref="PowerOfTwoChoicesBalancer"/>): the default without affinity.</summary>
    PowerOfTwoChoices = 0,

    /// <summary>Weighted round robin (<see cref="RoundRobinBalancer"/>).</summary>
    RoundRobin = 1,

    /// <summary>Weighted random (<see cref="RandomBalancer"/>).</summary>
    Random = 2,

    /// <summary>Consistent hashing on a ring (<see cref="ConsistentHashBalancer"/>): affinity only.</summary>
    ConsistentHash = 3,

    /// <summary>Maglev hashing (<see cref="MaglevBalancer"/>): affinity only.</summary>
    Maglev = 4,
}
