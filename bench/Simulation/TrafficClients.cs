namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>Chooses how the simulation's requests reach pods (see <see cref="ITrafficClient"/>).</summary>
internal static class TrafficClients
{
    public static ITrafficClient Create(LoadBalancer balancer) => new LeaseTrafficClient(balancer);
}
