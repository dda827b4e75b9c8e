namespace LockFree.Balancing.Yarp.Policies;

/// <summary>Policy names and kinds, both ways.</summary>
internal static class PolicyKinds
{
    public static PolicyKind? FromName(string? name) => name switch
    {
        _ when string.Equals(name, LockFreeLoadBalancingPolicies.ConsistentHash, StringComparison.OrdinalIgnoreCase) => PolicyKind.ConsistentHash,
        _ when string.Equals(name, LockFreeLoadBalancingPolicies.Maglev, StringComparison.OrdinalIgnoreCase) => PolicyKind.Maglev,
        _ when string.Equals(name, LockFreeLoadBalancingPolicies.PowerOfTwoChoices, StringComparison.OrdinalIgnoreCase) => PolicyKind.PowerOfTwoChoices,
        _ when string.Equals(name, LockFreeLoadBalancingPolicies.RoundRobin, StringComparison.OrdinalIgnoreCase) => PolicyKind.RoundRobin,
        _ => null,
    };

    public static string Name(this PolicyKind kind) => kind switch
    {
        PolicyKind.ConsistentHash => LockFreeLoadBalancingPolicies.ConsistentHash,
        PolicyKind.Maglev => LockFreeLoadBalancingPolicies.Maglev,
        PolicyKind.PowerOfTwoChoices => LockFreeLoadBalancingPolicies.PowerOfTwoChoices,
        _ => LockFreeLoadBalancingPolicies.RoundRobin,
    };

    public static bool PlacesByKey(this PolicyKind kind) => kind is PolicyKind.ConsistentHash or PolicyKind.Maglev;
}
