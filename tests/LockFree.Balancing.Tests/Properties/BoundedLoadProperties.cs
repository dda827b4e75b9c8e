using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace LockFree.Balancing.Tests.Properties;

/// <summary>
/// Bounded loads against a reference model, for generated interleavings of acquires, releases and set
/// changes: no acquire places a request on an endpoint at or above its capacity, the home endpoint is
/// chosen whenever it has room, counters never go negative, and the total equals the sum.
/// </summary>
public sealed class BoundedLoadProperties
{
    private static readonly Endpoint[] Universe =
    [
        .. TestEndpoints.Distinct(9, seed: 31),
        new Endpoint("10.99.0.1", 80, weight: 3),
        new Endpoint("10.99.0.2", 80, weight: 0),
    ];

    // The five balancer/load-factor pairs were [Theory] rows of 150 cases each, seeded by the factor (1250, 1050,
    // 2000); they are one property, so the pair is generated with the script: 900 cases from seed 1250 hold at
    // least 150 of each pair (the output collects them).
    [Property(Replay = "1250," + Replays.GoldenGamma, MaxTest = 900, Arbitrary = new[] { typeof(BoundedLoadScript) })]
    public Property Acquire_AnyInterleaving_NeverPlacesAtOrAboveCapacity(BoundedLoadScript script)
        => RunScript(script.Steps, script.Placement, script.LoadFactor).Collect($"{script.Placement} {script.LoadFactor}");

    private static bool RunScript(int[] script, string placement, double loadFactor)
    {
        LoadBalancer balancer = placement == "ring"
            ? new ConsistentHashBalancer(new ConsistentHashOptions { LoadFactor = loadFactor })
            : new MaglevBalancer(new MaglevOptions { LoadFactor = loadFactor, TableSize = 1009 });
        long factorThousandths = (long)Math.Round(loadFactor * 1000);
        bool[] present = Universe.Select((_, i) => i % 4 != 3).ToArray();
        balancer.Update(Universe.Where((_, i) => present[i]));
        List<EndpointLease> outstanding = [];
        Dictionary<string, int> modelLoads = Universe.ToDictionary(e => e.Key, _ => 0);

        foreach (int step in script)
        {
            switch (step % 10)
            {
                case < 6:
                {
                    // Reference: capacities from the model's total plus this request, against the live set.
                    Endpoint[] live = balancer.CurrentSnapshot.Endpoints;
                    long totalWeight = live.Sum(e => (long)e.Weight);
                    if (totalWeight == 0)
                    {
                        if (balancer.TryAcquire($"key-{step % 50}", out _))
                        {
                            return false;
                        }

                        break;
                    }

                    // Requests on removed (draining) or weight-0 endpoints are not in the total: balls in current bins only.
                    HashSet<string> pickable = live.Where(e => e.Weight > 0).Select(e => e.Key).ToHashSet();
                    int totalIncludingThis = outstanding.Count(l => pickable.Contains(l.Endpoint.Key)) + 1;
                    Endpoint home = balancer.Pick($"key-{step % 50}");
                    EndpointLease lease = balancer.Acquire($"key-{step % 50}");
                    Endpoint placed = lease.Endpoint;
                    int capacity = Capacity(factorThousandths, totalIncludingThis, placed.Weight, totalWeight);
                    bool homeHadRoom = modelLoads[home.Key] < Capacity(factorThousandths, totalIncludingThis, home.Weight, totalWeight);
                    if (modelLoads[placed.Key] >= capacity || placed.Weight == 0 || (homeHadRoom && !placed.Equals(home)))
                    {
                        return false;
                    }

                    modelLoads[placed.Key]++;
                    outstanding.Add(lease);
                    break;
                }

                case < 9 when outstanding.Count > 0:
                {
                    int index = (step / 10) % outstanding.Count;
                    EndpointLease lease = outstanding[index];
                    modelLoads[lease.Endpoint.Key]--;
                    lease.Dispose();
                    outstanding.RemoveAt(index);
                    break;
                }

                case 9:
                {
                    int toggled = (step / 10) % Universe.Length;
                    present[toggled] = !present[toggled];
                    balancer.Update(Universe.Where((_, i) => present[i]));
                    break;
                }
            }

            foreach (Endpoint endpoint in Universe)
            {
                int actual = balancer.InFlightOf(endpoint.Key);
                bool tracked = present[Array.IndexOf(Universe, endpoint)] || modelLoads[endpoint.Key] > 0;
                if (actual < 0 || (tracked && actual != modelLoads[endpoint.Key]))
                {
                    return false;
                }
            }
        }

        foreach (EndpointLease lease in outstanding)
        {
            lease.Dispose();
        }

        return Universe.All(e => balancer.InFlightOf(e.Key) == 0);
    }

    private static int Capacity(long factorThousandths, int total, int weight, long totalWeight)
        => (int)Math.Max(1, (long)Math.Ceiling((decimal)factorThousandths * total * weight / (1000m * totalWeight)));
}
