namespace LockFree.Balancing.Yarp.Policies;

/// <summary>Which core picker a LockFree policy runs.</summary>
internal enum PolicyKind
{
    ConsistentHash,
    Maglev,
    PowerOfTwoChoices,
    RoundRobin,
}
