namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>How the simulation's requests reach pods (<c>--client</c>).</summary>
internal enum TrafficPath
{
    /// <summary>Through the library's HTTP handler.</summary>
    Handler,

    /// <summary>A lease from a balancer the simulation owns, and a plain HttpClient.</summary>
    Lease,
}
