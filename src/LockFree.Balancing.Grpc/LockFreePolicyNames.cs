namespace LockFree.Balancing.Grpc;

/// <summary>The service-config names of the LockFree load-balancing policies.</summary>
public static class LockFreePolicyNames
{
    /// <summary>In-flight power of two choices.</summary>
    public const string PowerOfTwoChoices = "lockfree_p2c";

    /// <summary>Weighted round robin.</summary>
    public const string RoundRobin = "lockfree_round_robin";

    /// <summary>Consistent hashing on a ring, optionally with bounded loads.</summary>
    public const string ConsistentHash = "lockfree_consistent_hash";

    /// <summary>Maglev hashing, optionally with bounded loads.</summary>
    public const string Maglev = "lockfree_maglev";
}
