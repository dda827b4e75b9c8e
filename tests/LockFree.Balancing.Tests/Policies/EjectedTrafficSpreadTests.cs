using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace LockFree.Balancing.Tests.Policies;

/// <summary>
/// Traffic that an ejected endpoint would have received spreads over the available endpoints by weight; it does
/// not pile onto the ejected endpoint's neighbour in key order. Pods of one node sort next to each other, so a
/// node failure ejects adjacent endpoints.
/// </summary>
public sealed class EjectedTrafficSpreadTests
{
    private const int Picks = 100_000;

    public static TheoryData<string, bool> KeylessPickersAndWeights()
    {
        TheoryData<string, bool> data = [];
        foreach (string picker in new[] { "round-robin", "random", "power-of-two" })
        {
            data.Add(picker, false);
            data.Add(picker, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(KeylessPickersAndWeights))]
    public void Pick_FourAdjacentOfTenEjected_NoSurvivorAboveOnePointThreeTimesItsShare(string picker, bool unequalWeights)
    {
        LoadBalancer balancer = LoadBalancerTests.Create(picker, configure: options =>
        {
            options.TimeProvider = new FakeTimeProvider();
            options.OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1, MaxEjectedShare = 0.5 };
        });
        Endpoint[] endpoints = [.. TestEndpoints.Distinct(10, seed: 71).Select((e, i) => e.WithWeight(unequalWeights ? 1 + (i % 4) : 1))];
        balancer.Update(endpoints);

        // Eject four endpoints adjacent in key order (snapshot indexes 3–6).
        for (int index = 3; index <= 6; index++)
        {
            balancer.EjectionForTests!.RecordFailure(balancer.CurrentSnapshot.States[index]);
        }

        Assert.Equal(4, balancer.GetStatus().Count(s => s.IsEjected));

        Dictionary<string, int> counts = [];
        for (int i = 0; i < Picks; i++)
        {
            string key = balancer.Pick().Key;
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        IReadOnlyList<EndpointStatus> statuses = balancer.GetStatus();
        long availableWeight = statuses.Where(s => !s.IsEjected).Sum(s => (long)s.Endpoint.Weight);
        foreach (EndpointStatus status in statuses)
        {
            int got = counts.GetValueOrDefault(status.Endpoint.Key);
            if (status.IsEjected)
            {
                Assert.Equal(0, got);
                continue;
            }

            double fair = (double)Picks * status.Endpoint.Weight / availableWeight;
            Assert.True(got <= 1.3 * fair, $"{status.Endpoint.Key} (weight {status.Endpoint.Weight}) got {got} picks; its fair share is {fair:F0}.");
        }
    }
}
