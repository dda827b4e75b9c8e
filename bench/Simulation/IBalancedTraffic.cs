using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// The seam between the simulation and how its requests are balanced: which balancer picks, fed by which watch,
/// and the client that sends through it. <see cref="LeaseTraffic"/> wires a balancer and a watcher by hand and
/// sends to the endpoint of a lease; <see cref="HandlerTraffic"/> uses the library's HTTP handler
/// (<c>LockFree.Balancing.Http</c>), which owns its balancer and shares a watch through a registry;
/// <see cref="GrpcTraffic"/> a gRPC channel on the <c>kubernetes</c> resolver with a gRPC policy.
/// </summary>
internal interface IBalancedTraffic : IAsyncDisposable
{
    /// <summary>How requests are sent, for the report.</summary>
    string Description { get; }

    /// <summary>
    /// The balancer whose picks the traffic uses (for the probe, the in-flight samples and key placement); read it
    /// after <see cref="WaitForFirstSyncAsync"/>. <see langword="null"/> when the picks are not a LockFree
    /// balancer's (gRPC's <c>ring_hash</c>).
    /// </summary>
    LoadBalancer? Balancer { get; }

    /// <summary>Sends the requests.</summary>
    ITrafficClient Client { get; }

    /// <summary>The watch's health (lists, versions).</summary>
    KubernetesWatchStatus WatchStatus { get; }

    /// <summary>Completes when the first endpoint set reached the balancer.</summary>
    Task WaitForFirstSyncAsync(CancellationToken cancellationToken);
}
