namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>What the program runs (BenchmarkDotNet pass-through aside).</summary>
internal enum BenchMode
{
    /// <summary>The embedded cluster simulation, the micro-benchmarks and the report (no arguments, <c>--quick</c>).</summary>
    Simulation,

    /// <summary><c>--smoke</c>: the direct benchmark calls and a seconds-long simulation.</summary>
    Smoke,

    /// <summary><c>--kube-api</c>: traffic against a real cluster.</summary>
    RealCluster,
}
