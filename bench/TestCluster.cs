using System.Globalization;

namespace LockFree.Balancing.Benchmarks;

/// <summary>Deterministic endpoint sets for the benchmarks: N pod-like IPv4 endpoints of weight 1.</summary>
internal static class TestCluster
{
    /// <summary>The default virtual nodes per endpoint, the V every benchmark uses.</summary>
    public const int VirtualNodes = ConsistentHashOptions.DefaultVirtualNodesPerEndpoint;

    /// <summary>The bounded-load factor of the bounded benchmarks (as in the issue and the seed's examples).</summary>
    public const double LoadFactor = 1.25;

    /// <summary>Endpoints <c>10.0.x.y:8080</c> numbered from <paramref name="first"/>.</summary>
    public static Endpoint[] Endpoints(int count, int first = 0)
    {
        Endpoint[] endpoints = new Endpoint[count];
        for (int i = 0; i < count; i++)
        {
            int n = first + i + 1;
            string host = string.Create(CultureInfo.InvariantCulture, $"10.{n >> 16 & 0xFF}.{n >> 8 & 0xFF}.{n & 0xFF}");
            endpoints[i] = new Endpoint(host, 8080);
        }

        return endpoints;
    }

    /// <summary>A plain consistent-hash balancer (V = 160) holding <paramref name="endpoints"/>.</summary>
    public static ConsistentHashBalancer Plain(IEnumerable<Endpoint> endpoints)
    {
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { VirtualNodesPerEndpoint = VirtualNodes });
        balancer.Update(endpoints);
        return balancer;
    }

    /// <summary>A bounded-load balancer (V = 160, c = 1.25) holding <paramref name="endpoints"/>.</summary>
    public static ConsistentHashBalancer Bounded(IEnumerable<Endpoint> endpoints)
    {
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { VirtualNodesPerEndpoint = VirtualNodes, LoadFactor = LoadFactor });
        balancer.Update(endpoints);
        return balancer;
    }
}
