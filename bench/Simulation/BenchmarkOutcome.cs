namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>The micro-benchmark results.</summary>
internal sealed record BenchmarkOutcome(List<BenchmarkRow> Rows, bool Failed, string Version)
{
    public BenchmarkRow? Find(string method, int n) => Rows.FirstOrDefault(r => r.Method == method && r.N == n);
}
