using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Order;
using BenchmarkDotNet.Reports;
using Perfolizer.Metrology;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// The one configuration every benchmark run shares: allocation per operation, median next to the
/// mean, ratios against the class's <c>Baseline = true</c> method, and a GitHub-markdown table to
/// commit under <c>docs/</c>.
/// </summary>
internal static class BenchConfig
{
    /// <summary>The shared configuration, with <paramref name="job"/> when given; otherwise the job comes from the command line (<c>--job</c>) or BenchmarkDotNet's default.</summary>
    public static IConfig Create(Job? job = null)
    {
        ManualConfig config = ManualConfig.CreateEmpty()
            .AddLogger(ConsoleLogger.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(StatisticColumn.Median, BaselineRatioColumn.RatioMean, BaselineRatioColumn.RatioStdDev)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddExporter(MarkdownExporter.GitHub)
            .AddAnalyser([.. DefaultConfig.Instance.GetAnalysers()])
            .AddValidator([.. DefaultConfig.Instance.GetValidators()])
            .WithOrderer(new DefaultOrderer(SummaryOrderPolicy.Declared, MethodOrderPolicy.Declared))
            .WithSummaryStyle(SummaryStyle.Default.WithSizeUnit(SizeUnit.B)) // exact bytes: the targets are in bytes
            // The generated project builds the whole bench (Grpc.Tools' protoc, ASP.NET Core): on a busy 2-core machine
            // that took over BenchmarkDotNet's default two minutes.
            .WithBuildTimeout(TimeSpan.FromMinutes(10));

        return job is null ? config : config.AddJob(job);
    }
}
