using LockFree.Balancing.Load;

namespace LockFree.Balancing.Randomness;

/// <summary>A snapshot with an alias table over the pickable endpoints, for pickers that draw at random by weight.</summary>
internal sealed class WeightedDrawSnapshot : BalancerSnapshot
{
    public WeightedDrawSnapshot(long version, Endpoint[] endpoints, EndpointState[] states)
        : base(version, endpoints, states)
        => Draws = AliasTable.Build(Pickable, PickableWeights());

    public AliasTable Draws { get; }
}
