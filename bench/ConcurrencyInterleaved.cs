using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// <c>--concurrency-interleaved</c>: the <see cref="ConcurrencyBenchmarks"/> methods with 1 and 2 threads, timed
/// in interleaved rounds (every method at both thread counts once per round, many rounds) so that a drifting
/// background load on a shared machine hits both thread counts alike. Prints the median wall time per pick,
/// the throughput in millions of picks per second, and the scaling from 1 to 2 threads (2.0 is perfect); and the
/// CPU time per pick summed over the threads (<see cref="ThreadCpuTime"/>): on a loaded machine the wall time shows
/// how much CPU the scheduler lent, while a rise of the CPU time per pick from 1 to 2 threads is the cost of the
/// cache lines the threads share (a pick that shares nothing keeps its CPU cost).
/// </summary>
internal static class ConcurrencyInterleaved
{
    private const int Rounds = 61;

    public static int Run(TextWriter output)
    {
        ConcurrencyBenchmarks[] instances = [new() { Threads = 1 }, new() { Threads = 2 }];
        foreach (ConcurrencyBenchmarks instance in instances)
        {
            instance.Setup();
        }

        MethodInfo[] methods = [.. typeof(ConcurrencyBenchmarks).GetMethods().Where(m => m.IsDefined(typeof(BenchmarkAttribute)))];
        Func<Endpoint?>[,] calls = new Func<Endpoint?>[methods.Length, instances.Length];
        for (int m = 0; m < methods.Length; m++)
        {
            for (int t = 0; t < instances.Length; t++)
            {
                calls[m, t] = methods[m].CreateDelegate<Func<Endpoint?>>(instances[t]);
            }
        }

        double[,,] samples = new double[methods.Length, instances.Length, Rounds];
        double[,,] cpuSamples = new double[methods.Length, instances.Length, Rounds];
        for (int round = -3; round < Rounds; round++) // 3 warm-up rounds
        {
            for (int m = 0; m < methods.Length; m++)
            {
                for (int t = 0; t < instances.Length; t++)
                {
                    _ = instances[t].TakeCpuNanoseconds();
                    long started = Stopwatch.GetTimestamp();
                    if (calls[m, t]() is null)
                    {
                        output.WriteLine($"FAIL: {methods[m].Name} with {t + 1} threads picked nothing");
                        return 1;
                    }

                    double ns = Stopwatch.GetElapsedTime(started).TotalNanoseconds / ConcurrencyBenchmarks.PicksPerCall;
                    if (round >= 0)
                    {
                        samples[m, t, round] = ns;
                        cpuSamples[m, t, round] = (double)instances[t].TakeCpuNanoseconds() / ConcurrencyBenchmarks.PicksPerCall;
                    }
                }
            }
        }

        foreach (ConcurrencyBenchmarks instance in instances)
        {
            instance.Cleanup();
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"picks over all threads, interleaved: median of {Rounds} rounds x {ConcurrencyBenchmarks.PicksPerCall} picks; N = 100, V = 160, c = 1.25"));
        output.WriteLine("| Benchmark | 1 thread: wall ns/pick (Mpicks/s) | 2 threads: wall ns/pick (Mpicks/s) | wall scaling 1 → 2 | CPU ns/pick, 1 thread | CPU ns/pick, 2 threads | CPU cost 2 / 1 |");
        output.WriteLine("|---|---|---|---|---|---|---|");
        for (int m = 0; m < methods.Length; m++)
        {
            double one = Median(samples, m, 0);
            double two = Median(samples, m, 1);
            double cpuOne = Median(cpuSamples, m, 0);
            double cpuTwo = Median(cpuSamples, m, 1);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {methods[m].Name} | {one:F1} ({1000 / one:F1}) | {two:F1} ({1000 / two:F1}) | {one / two:F2}x | {cpuOne:F1} | {cpuTwo:F1} | {cpuTwo / cpuOne:F2}x |"));
        }

        return 0;
    }

    private static double Median(double[,,] samples, int method, int threads)
    {
        double[] values = new double[samples.GetLength(2)];
        for (int round = 0; round < values.Length; round++)
        {
            values[round] = samples[method, threads, round];
        }

        Array.Sort(values);
        return values[values.Length / 2];
    }
}
