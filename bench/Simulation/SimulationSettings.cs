using System.Globalization;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>How big and how long the cluster simulation is. Presets for the default run, <c>--quick</c> and <c>--smoke</c>.</summary>
internal sealed record SimulationSettings
{
    /// <summary>Pods (backends) the Service has at the start of each picker's run.</summary>
    public int Pods { get; init; } = 12;

    /// <summary>Concurrent clients, each with one request in flight at a time (a closed loop).</summary>
    public int Clients { get; init; } = 32;

    /// <summary>Distinct user ids; requests draw them from a Zipf distribution.</summary>
    public int Keys { get; init; } = 10_000;

    /// <summary>The Zipf exponent s (rank r is drawn with probability ∝ 1/r^s).</summary>
    public double ZipfExponent { get; init; } = 1.0;

    /// <summary>How long a backend takes to answer (an awaited delay, so it costs no CPU).</summary>
    public TimeSpan ServiceTime { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>The bounded-load factor c of the bounded picker.</summary>
    public double LoadFactor { get; init; } = 1.25;

    /// <summary>The steady phase: full traffic, no churn. Shares and affinity are measured here.</summary>
    public TimeSpan Steady { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long each churn phase after the rolling update runs (scale-down, watch drop, 410 relist).</summary>
    public TimeSpan Phase { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Pods replaced by the rolling update (one at a time, surge 1).</summary>
    public int RollingPods { get; init; } = 12;

    /// <summary>How long a new pod stays not-ready before it turns ready, and an old one keeps serving after it is seen removed.</summary>
    public TimeSpan PodGrace { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How requests reach pods: the library's HTTP handler, or a lease and a plain HttpClient.</summary>
    public TrafficPath Traffic { get; init; } = TrafficPath.Handler;

    /// <summary>Run the HTTP pickers (<c>--grpc-only</c> runs the gRPC phase alone).</summary>
    public bool HttpPickers { get; init; } = true;

    /// <summary>The gRPC phase's policies (prefixes of their names, see <see cref="PickerSpec.Grpc"/>); <see langword="null"/> for all four, empty for none.</summary>
    public IReadOnlyCollection<string>? GrpcPolicies { get; init; }

    /// <summary>Run the micro-benchmarks after the simulation.</summary>
    public bool Benchmarks { get; init; } = true;

    /// <summary>Where the report goes; <see langword="null"/> for no report.</summary>
    public string? ReportPath { get; init; } = "docs/results/latest.md";

    /// <summary>The name printed in the report for this preset.</summary>
    public string Preset { get; init; } = "default";

    public static SimulationSettings Default { get; } = new();

    public static SimulationSettings Quick { get; } = new()
    {
        Preset = "quick",
        Steady = TimeSpan.FromSeconds(1.5),
        Phase = TimeSpan.FromSeconds(0.75),
        RollingPods = 4,
    };

    /// <summary>Seconds long, for CI: every phase and every assertion, small numbers.</summary>
    public static SimulationSettings Smoke { get; } = new()
    {
        Preset = "smoke",
        Clients = 8,
        Steady = TimeSpan.FromSeconds(0.5),
        Phase = TimeSpan.FromSeconds(0.3),
        RollingPods = 2,
        PodGrace = TimeSpan.FromMilliseconds(50),
        GrpcPolicies = ["lockfree_consistent_hash", "ring_hash"],
        Benchmarks = false,
        ReportPath = null,
    };

    /// <summary>A one-line description for the console and the report.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Pods} pods, {Clients} clients, {Keys:N0} keys (Zipf s = {ZipfExponent}), service time {ServiceTime.TotalMilliseconds} ms, "
        + $"requests through {(Traffic == TrafficPath.Handler ? "the HTTP handler" : "leases")}, steady {Steady.TotalSeconds} s, rolling update of {RollingPods} pods, churn phases {Phase.TotalSeconds} s, c = {LoadFactor}");
}
