using LockFree.Balancing.Grpc.RingHash;

namespace LockFree.Balancing.Grpc.Tests.RingHash;

/// <summary>A connector that records which endpoints the pick rules asked to connect.</summary>
internal sealed class RecordingConnector : IRingHashConnector
{
    public List<int> Connected { get; } = [];

    public void TriggerConnect(int endpoint) => Connected.Add(endpoint);
}
