using Xunit;

namespace LockFree.Balancing.Grpc.Tests;

/// <summary>Waits for a condition with a deadline, yielding between checks (no fixed sleeps).</summary>
internal static class TestWait
{
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? limit = null)
    {
        DateTime deadline = DateTime.UtcNow + (limit ?? GrpcCluster.WaitLimit);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting until " + what);
            await Task.Delay(5);
        }
    }
}
