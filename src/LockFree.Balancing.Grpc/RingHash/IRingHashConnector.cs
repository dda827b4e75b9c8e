namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>What the pick rules ask of the policy: gRFC A42's <c>TriggerConnectionAttemptInControlPlane</c>.</summary>
internal interface IRingHashConnector
{
    /// <summary>
    /// Makes sure another connection attempt of endpoint <paramref name="endpoint"/> will happen: connects an
    /// IDLE subchannel, and leaves one that is connecting or backing off to grpc-dotnet's own retry loop.
    /// </summary>
    /// <param name="endpoint">The endpoint index.</param>
    void TriggerConnect(int endpoint);
}
