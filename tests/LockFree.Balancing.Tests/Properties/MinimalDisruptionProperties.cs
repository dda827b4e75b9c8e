using FsCheck.Fluent;
using Xunit;
using Xunit.Abstractions;

namespace LockFree.Balancing.Tests.Properties;

/// <summary>Consistent hashing's promise: a change of the set moves only the keys it must.</summary>
public sealed class MinimalDisruptionProperties(ITestOutputHelper output)
{
    private static readonly string[] Keys = TestEndpoints.Keys(20_000, seed: 77);

    [Theory]
    [InlineData(10)]
    [InlineData(100)]
    public void Remove_OneEndpoint_MovesOnlyItsKeysAndNoneBetweenSurvivors(int endpointCount)
    {
        SeededProperty.Check(
            Prop.ForAll(SeededProperty.EndpointSets(endpointCount), Gen.Choose(0, endpointCount - 1).ToArbitrary(), (endpoints, removedIndex) =>
            {
                ConsistentHashBalancer balancer = new();
                balancer.Update(endpoints);
                Endpoint[] before = Keys.Select(k => balancer.Pick(k)).ToArray();
                Endpoint removed = endpoints[removedIndex];

                balancer.Remove(removed);

                for (int i = 0; i < Keys.Length; i++)
                {
                    Endpoint after = balancer.Pick(Keys[i]);
                    bool movedBetweenSurvivors = !before[i].Equals(removed) && !after.Equals(before[i]);
                    if (movedBetweenSurvivors || after.Equals(removed))
                    {
                        return false;
                    }
                }

                return true;
            }),
            maxTest: 40,
            seed: 11);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(100)]
    public void Add_OneEndpoint_MovesKeysOnlyOntoIt(int endpointCount)
    {
        SeededProperty.Check(
            Prop.ForAll(SeededProperty.EndpointSets(endpointCount + 1), endpoints =>
            {
                ConsistentHashBalancer balancer = new();
                balancer.Update(endpoints.Skip(1));
                Endpoint[] before = Keys.Select(k => balancer.Pick(k)).ToArray();

                balancer.Add(endpoints[0]);

                for (int i = 0; i < Keys.Length; i++)
                {
                    Endpoint after = balancer.Pick(Keys[i]);
                    if (!after.Equals(before[i]) && !after.Equals(endpoints[0]))
                    {
                        return false;
                    }
                }

                return true;
            }),
            maxTest: 40,
            seed: 12);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(100)]
    public void Remove_MovedFractionAveragedOverRemovals_IsOneOverNWithin25Percent(int endpointCount)
    {
        // The exact key-space share of the removed endpoint is the fraction that moves; averaged over
        // random removals from random sets it must be 1/N ± 25 %.
        List<double> moved = [];
        SeededProperty.Check(
            Prop.ForAll(SeededProperty.EndpointSets(endpointCount), Gen.Choose(0, endpointCount - 1).ToArbitrary(), (endpoints, removedIndex) =>
            {
                ConsistentHashBalancer balancer = new();
                balancer.Update(endpoints);
                Endpoint removed = endpoints[removedIndex];
                int owner = Array.IndexOf(balancer.CurrentSnapshot.Endpoints, removed);
                moved.Add(RingAnalysis.KeySpaceShares(balancer.CurrentRing, endpointCount)[owner]);
                return true;
            }),
            maxTest: 200,
            seed: 13);

        double average = moved.Average();
        double ideal = 1.0 / endpointCount;
        output.WriteLine($"N={endpointCount}: mean moved fraction {average:F5} (ideal {ideal:F5}), worst {moved.Max():F5}");
        Assert.InRange(average, ideal * 0.75, ideal * 1.25);
    }

    [Fact]
    public void Reweight_OneEndpoint_MovesKeysOnlyOntoIt()
    {
        // Replica r of an endpoint does not depend on its weight, so raising a weight adds points and
        // moves keys only onto that endpoint.
        Endpoint[] endpoints = TestEndpoints.Distinct(20, seed: 14);
        ConsistentHashBalancer balancer = new();
        balancer.Update(endpoints);
        Endpoint[] before = Keys.Select(k => balancer.Pick(k)).ToArray();

        balancer.Add(endpoints[3].WithWeight(3));

        int movedToOther = Keys.Where((k, i) => !balancer.Pick(k).Equals(before[i]) && !balancer.Pick(k).Equals(endpoints[3])).Count();
        Assert.Equal(0, movedToOther);
    }
}
