using LockFree.Balancing.Kubernetes.Api;
using Xunit;

namespace LockFree.Balancing.Kubernetes.Tests;

public sealed class BackoffTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(1, 0.0, 250)]
    [InlineData(1, 0.999999, 500)]
    [InlineData(2, 0.0, 500)]
    [InlineData(3, 0.5, 1500)]
    [InlineData(7, 0.0, 15000)]
    [InlineData(8, 0.0, 15000)]
    [InlineData(50, 0.999999, 30000)]
    [InlineData(int.MaxValue, 0.0, 15000)]
    public void Delay_FailuresAndRandom_IsCappedExponentialWithEqualJitter(int failures, double random, int expectedMs)
    {
        Assert.Equal(expectedMs, Backoff.Delay(failures, Initial, Max, random).TotalMilliseconds, 0);
    }

    [Fact]
    public void Delay_SeededRandom_IsReproducibleAndWithinBounds()
    {
        var first = new Random(7);
        var second = new Random(7);
        for (int failures = 1; failures < 40; failures++)
        {
            TimeSpan a = Backoff.Delay(failures, Initial, Max, first.NextDouble());
            TimeSpan b = Backoff.Delay(failures, Initial, Max, second.NextDouble());
            Assert.Equal(a, b);
            Assert.InRange(a, TimeSpan.FromTicks(1), Max);
        }
    }
}
