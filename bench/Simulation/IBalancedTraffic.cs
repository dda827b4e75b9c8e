using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// The seam between the simulation and how its requests are balanced: which balancer picks, fed by which watch,
/// and the client that sends through it. <see cref="LeaseTraffic"/> wires a balancer and a watcher by hand and
/// sends to the endpoint of a lease; <see cref="HandlerTraffic"/> uses the library's HTTP handler
/// (<c>LockFree.Balancing.Http</c>), which owns its balancer and shares a watch through a registry.
/// </summary>
internal interface IBalancedTraffic : IAsyncDisposable
{
    /// <summary>How requests are sent, for the report.</summary>
    string Description { get; }

    /// <summary>The balancer whose picks the traffic uses (for the probe, the in-flight samples and key placement).</summary>
    LoadBalancer Balancer { get; }

    /// <summary>Sends the requests.</summary>
    ITrafficClient Client { get; }

    /// <summary>The watch's health (lists, versions).</summary>
    KubernetesWatchStatus WatchStatus { get; }

    /// <summary>Completes when the first endpoint set reached the balancer.</summary>
    Task WaitForFirstSyncAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Calls from the watch loop around each delivery of a new set: <see cref="Before"/> just before the balancer
/// takes it, <see cref="After"/> once the balancer has published it. One call at a time, in order.
/// </summary>
internal sealed record WatchHooks(Action Before, Action<IReadOnlyList<Endpoint>> After);

/// <summary>How the simulation's requests reach pods (<c>--client</c>).</summary>
internal enum TrafficPath
{
    /// <summary>Through the library's HTTP handler.</summary>
    Handler,

    /// <summary>A lease from a balancer the simulation owns, and a plain HttpClient.</summary>
    Lease,
}
