namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>The result of <see cref="RingHashPickRules"/>: a kind and the endpoint it refers to (-1 for a queue).</summary>
/// <param name="Kind">What to do with the call.</param>
/// <param name="Endpoint">The endpoint to pick (for <see cref="RingHashPickKind.Pick"/>) or whose failure to report (for <see cref="RingHashPickKind.Fail"/>).</param>
internal readonly record struct RingHashPickDecision(RingHashPickKind Kind, int Endpoint)
{
    /// <summary>Gets the queue decision.</summary>
    public static RingHashPickDecision Queue => new(RingHashPickKind.Queue, -1);
}
