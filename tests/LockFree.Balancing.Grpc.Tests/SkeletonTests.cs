using Xunit;

namespace LockFree.Balancing.Grpc.Tests;

// Placeholder so the skeleton builds; removed when the first real test lands.
public sealed class SkeletonTests
{
    [Fact]
    public void EchoProto_IsCompiled() => Assert.NotNull(typeof(Protos.Echo.EchoClient));
}
