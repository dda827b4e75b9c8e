namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>One benchmark at one size: the median time per pick in ns and the bytes allocated per pick.</summary>
internal sealed record BenchmarkRow(string Method, int N, double MedianNanoseconds, long? AllocatedBytes);
