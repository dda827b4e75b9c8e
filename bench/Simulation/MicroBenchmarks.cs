using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// The default run's micro-benchmarks: the key pick benchmarks of <see cref="PickBenchmarks"/> and their
/// baselines at two sizes, side by side in one short BenchmarkDotNet run. In process (no generated project to
/// build, no child processes), a short job: enough to read ratios, not to publish (use <c>--filter</c> for that).
/// </summary>
internal static class MicroBenchmarks
{
    /// <summary>Baselines first, then the library's pickers, then the hash floor.</summary>
    public static readonly string[] Methods =
    [
        nameof(PickBenchmarks.BinarySearchRing),
        nameof(PickBenchmarks.MutexRing),
        nameof(PickBenchmarks.ConsistentHashPick),
        nameof(PickBenchmarks.BoundedLoadAcquire),
        nameof(PickBenchmarks.MaglevPick),
        nameof(PickBenchmarks.MaglevBoundedAcquire),
        nameof(PickBenchmarks.RoundRobinPick),
        nameof(PickBenchmarks.PowerOfTwoChoicesPick),
        nameof(PickBenchmarks.HashOnly),
    ];

    public static readonly int[] Sizes = [10, 1000];

    public static Job ReportJob { get; } = Job.Default
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithLaunchCount(1)
        .WithWarmupCount(2)
        .WithIterationCount(6)
        .WithIterationTime(TimeInterval.FromMilliseconds(100))
        // The overhead stage (~20 extra iterations per case) would measure the empty call around 64 picks: about
        // 1 ns per call, 0.02 ns per pick. Skipping it cuts a third of the run; the times include that sliver.
        .WithEvaluateOverhead(false)
        .WithId("Report");

    public static BenchmarkOutcome Run()
    {
        IConfig config = BenchConfig.Create(ReportJob);
        BenchmarkRunInfo all = BenchmarkConverter.TypeToBenchmarks(typeof(PickBenchmarks), config);
        BenchmarkCase[] chosen = [.. all.BenchmarksCases.Where(c =>
            Methods.Contains(c.Descriptor.WorkloadMethod.Name, StringComparer.Ordinal)
            && c.Parameters["N"] is int n && Sizes.Contains(n))];
        Summary summary = BenchmarkRunner.Run(new BenchmarkRunInfo(chosen, all.Type, all.Config));

        List<BenchmarkRow> rows = [];
        foreach (BenchmarkReport report in summary.Reports)
        {
            BenchmarkCase benchmark = report.BenchmarkCase;
            rows.Add(new BenchmarkRow(
                benchmark.Descriptor.WorkloadMethod.Name,
                (int)benchmark.Parameters["N"],
                report.Success && report.ResultStatistics is { } stats ? stats.Median : double.NaN,
                report.GcStats.GetBytesAllocatedPerOperation(benchmark)));
        }

        bool failed = summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success) || rows.Count != chosen.Length;
        return new BenchmarkOutcome(rows, failed, summary.HostEnvironmentInfo.BenchmarkDotNetVersion);
    }
}
