using Grpc.Core;
using Grpc.Net.Client.Balancer;

namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>A picker that fails every pick with one cached result (no addresses, resolver error).</summary>
internal sealed class RingHashFailurePicker : SubchannelPicker
{
    private readonly PickResult _result;

    public RingHashFailurePicker(Status status) => _result = PickResult.ForFailure(status);

    /// <inheritdoc />
    public override PickResult Pick(PickContext context) => _result;
}
