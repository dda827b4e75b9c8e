using LockFree.Balancing.Fuzz.Engine;

namespace LockFree.Balancing.Fuzz.Balancer;

internal sealed class BalancerTarget : FuzzTarget
{
    public override string Name => "balancer";

    public override string Description => "operation scripts against every picker and a locked reference model";

    public override IEnumerable<(string FileName, byte[] Content)> Seeds() => [];

    public override ulong Execute(byte[] input) => 0;
}
