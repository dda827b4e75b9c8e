using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace LockFree.Balancing.Tests.Policies;

/// <summary>
/// The share cap of outlier ejection, as Envoy applies <c>max_ejection_percent</c>: in exact integer arithmetic, and
/// never below one endpoint, so a small set or a small share still ejects a failing endpoint.
/// </summary>
public sealed class EjectionShareCapTests
{
    [Theory]
    [InlineData(100, 0.29, 29)] // floor(0.29 · 100) in floating point is 28
    [InlineData(100, 0.57, 57)] // and 0.57 · 100 is 56.99999999999999
    [InlineData(5, 0.1, 1)]     // below one endpoint: one may still be ejected
    [InlineData(1, 0.5, 1)]
    [InlineData(10, 0.5, 5)]
    public void RecordFailure_EveryEndpointFailing_EjectsExactlyTheCap(int endpoints, double share, int expected)
    {
        RoundRobinBalancer balancer = new(new LoadBalancerOptions
        {
            TimeProvider = new FakeTimeProvider(),
            OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1, MaxEjectedShare = share },
        });
        balancer.Update(TestEndpoints.Distinct(endpoints, seed: 97));

        foreach (LockFree.Balancing.Load.EndpointState state in balancer.CurrentSnapshot.States)
        {
            balancer.EjectionForTests!.RecordFailure(state);
        }

        Assert.Equal(expected, balancer.GetStatus().Count(s => s.IsEjected));
    }
}
