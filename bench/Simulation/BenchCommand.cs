using System.Globalization;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>What the command line asked for, when it uses this program's own options (anything else goes to BenchmarkDotNet).</summary>
internal sealed record BenchCommand(BenchMode Mode, SimulationSettings Settings, Uri? KubeApi, string? Service, TimeSpan Duration, string Path, string? ReportPath)
{
    /// <summary>The options this program owns; an argument list containing any of them is parsed here, whole.</summary>
    public static readonly string[] Options =
    [
        "--smoke", "--quick", "--steady", "--phase", "--rolling", "--clients", "--pods", "--keys", "--zipf",
        "--no-benchmarks", "--client", "--report", "--no-report", "--kube-api", "--service", "--duration", "--path",
        "--grpc", "--grpc-only",
    ];

    public static bool IsOurs(string[] args) => args.Any(a => Options.Contains(a, StringComparer.Ordinal));

    /// <summary>Parses <paramref name="args"/>; returns null and an error message when something is wrong.</summary>
    public static BenchCommand? Parse(string[] args, out string? error)
    {
        error = null;
        BenchMode mode = BenchMode.Simulation;
        SimulationSettings settings = SimulationSettings.Default;
        if (args.Contains("--smoke"))
        {
            mode = BenchMode.Smoke;
            settings = SimulationSettings.Smoke;
        }
        else if (args.Contains("--quick"))
        {
            settings = SimulationSettings.Quick;
        }

        Uri? kubeApi = null;
        string? service = null;
        TimeSpan duration = TimeSpan.FromSeconds(5);
        string path = "/";
        bool reportGiven = false;
        string? report = null;
        bool churnOptions = false;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            switch (arg)
            {
                case "--smoke" or "--quick":
                    if (args.Contains("--smoke") && args.Contains("--quick"))
                    {
                        error = "--smoke and --quick exclude each other.";
                        return null;
                    }

                    break;
                case "--steady":
                    if (!Seconds(arg, value, 0.1, 600, out TimeSpan steady, ref error))
                    {
                        return null;
                    }

                    settings = settings with { Steady = steady };
                    churnOptions = true;
                    i++;
                    break;
                case "--phase":
                    if (!Seconds(arg, value, 0.1, 600, out TimeSpan phase, ref error))
                    {
                        return null;
                    }

                    settings = settings with { Phase = phase };
                    churnOptions = true;
                    i++;
                    break;
                case "--duration":
                    if (!Seconds(arg, value, 0.5, 3600, out duration, ref error))
                    {
                        return null;
                    }

                    i++;
                    break;
                case "--rolling":
                    if (!Integer(arg, value, 0, 1000, out int rolling, ref error))
                    {
                        return null;
                    }

                    settings = settings with { RollingPods = rolling };
                    churnOptions = true;
                    i++;
                    break;
                case "--clients":
                    if (!Integer(arg, value, 1, 1024, out int clients, ref error))
                    {
                        return null;
                    }

                    settings = settings with { Clients = clients };
                    i++;
                    break;
                case "--pods":
                    if (!Integer(arg, value, 3, 200, out int pods, ref error))
                    {
                        return null;
                    }

                    settings = settings with { Pods = pods };
                    churnOptions = true;
                    i++;
                    break;
                case "--keys":
                    if (!Integer(arg, value, 1, 10_000_000, out int keys, ref error))
                    {
                        return null;
                    }

                    settings = settings with { Keys = keys };
                    i++;
                    break;
                case "--zipf":
                    if (value is null || !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double s) || s is < 0 or > 5)
                    {
                        error = "--zipf takes the Zipf exponent s, a number from 0 (uniform) to 5.";
                        return null;
                    }

                    settings = settings with { ZipfExponent = s };
                    i++;
                    break;
                case "--client":
                    if (value is not ("handler" or "lease"))
                    {
                        error = "--client takes 'handler' (the library's HTTP handler, the default) or 'lease' (a lease from the balancer and a plain HttpClient).";
                        return null;
                    }

                    settings = settings with { Traffic = value == "lease" ? TrafficPath.Lease : TrafficPath.Handler };
                    i++;
                    break;
                case "--no-benchmarks":
                    settings = settings with { Benchmarks = false };
                    break;
                case "--grpc":
                    string[] policies = value is null ? [] : value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    if (policies.Length == 0 || (policies is not ["none"] && policies.Any(p => PickerSpec.Grpc(1.25, [p]).Length == 0)))
                    {
                        error = "--grpc takes gRPC policy names separated by commas (lockfree_p2c, lockfree_consistent_hash, ring_hash, lockfree_maglev), or none.";
                        return null;
                    }

                    settings = settings with { GrpcPolicies = policies is ["none"] ? [] : policies };
                    churnOptions = true;
                    i++;
                    break;
                case "--grpc-only":
                    settings = settings with { HttpPickers = false };
                    churnOptions = true;
                    break;
                case "--report":
                    if (string.IsNullOrWhiteSpace(value) || value.StartsWith("--", StringComparison.Ordinal))
                    {
                        error = "--report takes a file path, e.g. --report out/report.md.";
                        return null;
                    }

                    report = value;
                    reportGiven = true;
                    i++;
                    break;
                case "--no-report":
                    report = null;
                    reportGiven = true;
                    break;
                case "--kube-api":
                    if (value is null || !Uri.TryCreate(value, UriKind.Absolute, out kubeApi) || (kubeApi.Scheme != Uri.UriSchemeHttp && kubeApi.Scheme != Uri.UriSchemeHttps))
                    {
                        error = "--kube-api takes the API server's http(s) URL, e.g. http://127.0.0.1:8001 (kubectl proxy).";
                        return null;
                    }

                    i++;
                    break;
                case "--service":
                    if (value is null || !Kubernetes.ServiceReference.TryParse(value, out _))
                    {
                        error = $"--service takes a Service reference: {Kubernetes.ServiceReference.AcceptedForms}";
                        return null;
                    }

                    service = value;
                    i++;
                    break;
                case "--path":
                    if (value is null || !value.StartsWith('/'))
                    {
                        error = "--path takes the request path, starting with '/'.";
                        return null;
                    }

                    path = value;
                    i++;
                    break;
                default:
                    error = $"Unknown or misplaced argument '{arg}'. This program's options cannot be mixed with BenchmarkDotNet's.";
                    return null;
            }
        }

        if (kubeApi is not null || service is not null)
        {
            if (kubeApi is null || service is null)
            {
                error = "A real cluster needs both --kube-api URL and --service name.namespace:port.";
                return null;
            }

            if (mode == BenchMode.Smoke || churnOptions || args.Contains("--quick"))
            {
                error = "--kube-api runs traffic only (no churn is injected into a real cluster): use --duration, --clients, --keys, --zipf, --path, --report.";
                return null;
            }

            return new BenchCommand(BenchMode.RealCluster, settings with { Benchmarks = false }, kubeApi, service, duration, path, reportGiven ? report : null);
        }

        if (args.Contains("--duration") || args.Contains("--path"))
        {
            error = "--duration and --path apply to --kube-api runs only.";
            return null;
        }

        return new BenchCommand(mode, settings, null, null, duration, path, reportGiven ? report : settings.ReportPath);
    }

    private static bool Seconds(string name, string? value, double min, double max, out TimeSpan result, ref string? error)
    {
        result = default;
        if (value is null || !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || seconds < min || seconds > max)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"{name} takes seconds, from {min} to {max} (e.g. {name} 2.5).");
            return false;
        }

        result = TimeSpan.FromSeconds(seconds);
        return true;
    }

    private static bool Integer(string name, string? value, int min, int max, out int result, ref string? error)
    {
        if (value is null || !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out result) || result < min || result > max)
        {
            result = 0;
            error = string.Create(CultureInfo.InvariantCulture, $"{name} takes a whole number from {min} to {max}.");
            return false;
        }

        return true;
    }
}
