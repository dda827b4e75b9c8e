namespace LockFree.Balancing.Randomness;

/// <summary>A scope with an alias table for weighted random draws over its endpoints (random and power-of-two pickers).</summary>
internal sealed class DrawScope : PickScope
{
    public DrawScope(Endpoint[] endpoints, int[] pickable)
        : base(endpoints, pickable)
        => Draws = AliasTable.Build(pickable, Weights(endpoints));

    /// <summary>Draws a snapshot index with probability proportional to its weight.</summary>
    public AliasTable Draws { get; }

    /// <inheritdoc/>
    public override int DrawByWeight(ulong random) => Draws.Draw(random);
}
