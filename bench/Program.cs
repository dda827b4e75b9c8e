using BenchmarkDotNet.Running;
using LockFree.Balancing.Benchmarks;

// Modes (see README.md): no arguments = the pick benchmarks with the quick job; --smoke = seconds-long
// proof that every benchmark runs (CI); --help = usage; anything else goes to BenchmarkSwitcher as is.
// A later issue turns the no-argument run into a cluster simulation: change DefaultRun only.
BenchmarkSwitcher switcher = BenchmarkSwitcher.FromAssembly(typeof(PickBenchmarks).Assembly);

return args switch
{
    [] => DefaultRun(switcher),
    ["--smoke"] => SmokeRunner.Run(Console.Out),
    ["--help" or "-h" or "-?"] => Usage(Console.Out, exitCode: 0),
    _ when args.Any(a => a is "--smoke" or "--help" or "-h" or "-?") => Usage(Console.Error, exitCode: 2),
    _ => PassThrough(switcher, args),
};

static int DefaultRun(BenchmarkSwitcher switcher)
    => ExitCode(switcher.Run(["--filter", $"*{nameof(PickBenchmarks)}*"], BenchConfig.Create(BenchConfig.QuickJob)), expectResults: true);

static int PassThrough(BenchmarkSwitcher switcher, string[] args)
{
    // Informational commands print and return no summaries; everything else must produce results.
    bool informational = args.Any(a => a is "--list" or "--info" or "--version");
    if (!informational && !args.Any(a => a.StartsWith('-')))
    {
        // BenchmarkSwitcher would open an interactive menu on a bare word; there is no console to answer it in CI.
        return Usage(Console.Error, exitCode: 2);
    }

    return ExitCode(switcher.Run(args, BenchConfig.Create()), expectResults: !informational);
}

static int ExitCode(IEnumerable<BenchmarkDotNet.Reports.Summary> summaries, bool expectResults)
{
    BenchmarkDotNet.Reports.Summary[] all = [.. summaries];
    if (expectResults && all.Length == 0)
    {
        // Bad options (BenchmarkDotNet has printed why) or a filter that matched nothing.
        Console.Error.WriteLine("No benchmark ran. Run with --help for usage.");
        return 2;
    }

    bool failed = all.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success));
    return failed ? 1 : 0;
}

static int Usage(TextWriter writer, int exitCode)
{
    writer.WriteLine("""
        LockFree.Balancing benchmarks

        Usage: dotnet run -c Release --project bench [-- OPTIONS]

          (no options)       Run PickBenchmarks with the quick job (1 launch, 3 warm-up + 10 x 250 ms
                             iterations per case; a few minutes on 2 cores) and print the summary.
          --smoke            Call every benchmark method directly a few thousand times and check the
                             results (no BenchmarkDotNet processes; seconds). Exit 0 when all pass.
          --help, -h         This text.
          anything else      Passed to BenchmarkDotNet's switcher with the shared config, e.g.
                               --filter '*PickBenchmarks*' --job short
                               --filter '*UpdateBenchmarks*'
                               --filter '*' --job medium
                               --list flat
                             (BenchmarkDotNet's own options: https://benchmarkdotnet.org/articles/guides/console-args.html)

        Results: BenchmarkDotNet.Artifacts/results/*-report-github.md (not committed; copy tables to docs/).
        """);
    return exitCode;
}
