using System.Diagnostics;
using BenchmarkDotNet.Running;
using LockFree.Balancing.Benchmarks;
using LockFree.Balancing.Benchmarks.Simulation;

// Modes (see README.md): no arguments = the embedded cluster simulation, a short run of the pick benchmarks and
// the report; --smoke = seconds-long proof that every benchmark runs plus a seconds-long simulation (CI);
// --quick and the phase options = a shorter or longer default run; --kube-api/--service = the same traffic
// against a real cluster; --help = usage; anything else goes to BenchmarkSwitcher as is.
BenchmarkSwitcher switcher = BenchmarkSwitcher.FromAssembly(typeof(PickBenchmarks).Assembly);

if (args is ["--help" or "-h" or "-?"])
{
    return Usage(Console.Out, exitCode: 0);
}

if (args.Any(a => a is "--help" or "-h" or "-?"))
{
    return Usage(Console.Error, exitCode: 2);
}

// Interleaved timings for a shared, noisy machine (bench/README.md): every variant once per round, medians over rounds.
if (args is ["--ring-interleaved"])
{
    return RingLookupInterleaved.Run(Console.Out);
}

if (args is ["--concurrency-interleaved"])
{
    return ConcurrencyInterleaved.Run(Console.Out);
}

// Change propagation to Microsoft.Extensions.ServiceDiscovery (docs/service-discovery.md): --sd-latency [changes] [--report file].
if (args is ["--sd-latency", ..])
{
    int changes = args.Length > 1 && int.TryParse(args[1], out int n) && n > 0 ? n : 200;
    int reportAt = Array.IndexOf(args, "--report");
    return await ServiceDiscoveryLatency.RunAsync(Console.Out, changes, reportAt > 0 && reportAt + 1 < args.Length ? args[reportAt + 1] : null);
}

if (args.Length > 0 && !BenchCommand.IsOurs(args))
{
    return PassThrough(switcher, args);
}

BenchCommand? command = BenchCommand.Parse(args, out string? error);
if (command is null)
{
    Console.Error.WriteLine(error);
    Console.Error.WriteLine();
    return Usage(Console.Error, exitCode: 2);
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C stops the run cleanly (servers and watchers are disposed); a second one kills it.
    e.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
};

try
{
    return command.Mode switch
    {
        BenchMode.Smoke => await SmokeAsync(command, cancellation.Token),
        BenchMode.RealCluster => await RealClusterAsync(command, cancellation.Token),
        _ => await DefaultRunAsync(command, args, cancellation.Token),
    };
}
catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
{
    Console.Error.WriteLine("Cancelled.");
    return 130;
}
catch (SimulationException ex)
{
    Console.Error.WriteLine("SIMULATION FAILED: " + ex.Message);
    return 1;
}

static async Task<int> SmokeAsync(BenchCommand command, CancellationToken cancellationToken)
{
    int benchmarks = SmokeRunner.Run(Console.Out);
    _ = await ServiceDiscoveryLatency.RunAsync(Console.Out, changes: 20, reportPath: null); // throws when a change is missed
    SimulationOutcome simulation = await ClusterSimulation.RunAsync(command.Settings, Console.Out, cancellationToken);
    Console.WriteLine(Report.Tables(simulation, benchmarks: null, charts: false));
    List<string> failures = [.. simulation.Failures, .. await RealClusterRun.SmokeAsync(Console.Out, cancellationToken)];
    return Finish(failures, benchmarks == 0 ? 0 : 1);
}

static async Task<int> RealClusterAsync(BenchCommand command, CancellationToken cancellationToken)
{
    (string tables, List<string> failures) = await RealClusterRun.RunAsync(command, Console.Out, cancellationToken);
    Console.WriteLine();
    Console.WriteLine(tables);
    if (command.ReportPath is string path)
    {
        WriteReport(path, tables);
    }

    return Finish(failures, 0);
}

static async Task<int> DefaultRunAsync(BenchCommand command, string[] args, CancellationToken cancellationToken)
{
    Stopwatch total = Stopwatch.StartNew();
    string? loadBefore = MachineInfo.LoadAverage();
    SimulationOutcome simulation = await ClusterSimulation.RunAsync(command.Settings, Console.Out, cancellationToken);
    Console.WriteLine();
    Console.WriteLine(Report.Tables(simulation, benchmarks: null, charts: false));

    BenchmarkOutcome? benchmarks = null;
    if (command.Settings.Benchmarks)
    {
        Console.WriteLine("Micro-benchmarks (BenchmarkDotNet, short in-process job):");
        benchmarks = MicroBenchmarks.Run();
        Console.WriteLine();
        Console.WriteLine(Report.Tables(simulation: null, benchmarks, charts: false));
    }

    List<string> failures = [.. simulation.Failures];
    if (benchmarks is { Failed: true })
    {
        failures.Add("a micro-benchmark failed or did not run (BenchmarkDotNet's output above says why)");
    }

    if (command.ReportPath is string path)
    {
        string root = RepositoryRoot();
        string invocation = "dotnet run -c Release --project bench" + (args.Length == 0 ? "" : " -- " + string.Join(' ', args));
        string document = Report.Document(simulation, benchmarks, MachineInfo.Current(root), invocation, total.Elapsed, failures, loadBefore, MachineInfo.LoadAverage());
        WriteReport(Path.IsPathRooted(path) || args.Contains("--report") ? path : Path.Combine(root, path), document);
    }

    Console.WriteLine($"Total time: {total.Elapsed.TotalSeconds:F0} s.");
    return Finish(failures, 0);
}

static int Finish(List<string> failures, int exitCode)
{
    foreach (string failure in failures)
    {
        Console.Error.WriteLine("ASSERTION FAILED: " + failure);
    }

    return failures.Count > 0 ? 1 : exitCode;
}

static void WriteReport(string path, string text)
{
    string full = Path.GetFullPath(path);
    Directory.CreateDirectory(Path.GetDirectoryName(full)!);
    File.WriteAllText(full, text);
    Console.WriteLine($"Report written to {full}");
}

// The report belongs in the repository's docs/ whatever the current directory; outside a clone, the current directory.
static string RepositoryRoot()
{
    for (DirectoryInfo? directory = new(Environment.CurrentDirectory); directory is not null; directory = directory.Parent)
    {
        if (File.Exists(Path.Combine(directory.FullName, "LockFree.sln")))
        {
            return directory.FullName;
        }
    }

    return Environment.CurrentDirectory;
}

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
        LockFree.Balancing: cluster simulation and benchmarks

        Usage: dotnet run -c Release --project bench [-- OPTIONS]

          (no options)       The default run (~3-4 min on 2 cores): an embedded cluster (a fake Kubernetes API
                             server serving EndpointSlices over HTTP, 12 Kestrel backends on 127.0.0.1, the
                             library's watcher) with Zipf-keyed traffic through HttpClient for each picker in
                             turn, while it rolls, scales down, drops the watch and forces a relist; the same
                             phases for gRPC channels on kubernetes:///web.shop:grpc with each gRPC policy (the
                             gRPC phase); then a short BenchmarkDotNet run of the pick benchmarks and their baselines (N = 10 and 1000).
                             Prints the tables, writes docs/results/latest.md, and exits 1 if an assertion fails
                             (an error on an idempotent request, a bounded-load peak above the cap, a request
                             reaching a pod after the picker saw it removed).
          --quick            The same, shorter phases (~1.5 min with the benchmarks).
          --smoke            Seconds: every benchmark method called directly (no BenchmarkDotNet processes), 20
                             Service Discovery changes (--sd-latency) and a small simulation with every phase and
                             assertion; no report. CI runs this.
          --sd-latency [N] [--report FILE]
                             N (200) pod changes sent as EndpointSlice events, timed to ServiceDiscovery's change
                             token and next resolution through AddKubernetesEndpoints(); median, p90, p99, max.

        Simulation options (with no mode, --quick or --smoke):
          --steady S         seconds of steady traffic per picker (default 3)
          --phase S          seconds of each churn phase after the rolling update (default 1.5)
          --rolling N        pods replaced by the rolling update (default 12)
          --pods N           pods at the start (default 12, 3-200)
          --clients N        concurrent clients, one request in flight each (default 32)
          --keys N           distinct user ids (default 10000); --zipf S  their Zipf exponent (default 1.0)
          --client handler   requests through the library's HTTP handler (default: KubernetesBalancing,
                             one shared watch, pick + rewrite + lease, one retry of a refused GET)
          --client lease     a lease from a balancer kept current by its own watcher, and a plain HttpClient
          --grpc LIST        the gRPC phase's policies, comma-separated: lockfree_p2c, lockfree_consistent_hash,
                             ring_hash, lockfree_maglev (default all four; --smoke: the middle two); none skips it
          --grpc-only        the gRPC phase alone (no HTTP pickers)
          --no-benchmarks    skip the micro-benchmarks
          --report PATH      write the report there instead of docs/results/latest.md; --no-report: none

        A real cluster (traffic only, nothing changed in the cluster):
          --kube-api URL --service NAME.NAMESPACE:PORT [--duration S] [--path /p] [--clients N] [--client C]
                             [--keys N] [--zipf S] [--report PATH]
                             e.g. kubectl proxy & then --kube-api http://127.0.0.1:8001 --service web.default:http
                             The watcher reads the Service's EndpointSlices through URL; the requests go to the pod
                             IPs, so run it where those are routable (in the cluster or a routed network).

          --help, -h         This text.
          anything else      Passed to BenchmarkDotNet's switcher with the shared config, e.g.
                               --filter '*'                       every suite, BenchmarkDotNet's default job
                               --filter '*PickBenchmarks*' --job short
                               --list flat
                             (https://benchmarkdotnet.org/articles/guides/console-args.html)

        Exit codes: 0 success; 1 an assertion or benchmark failed; 2 bad arguments.
        """);
    return exitCode;
}
