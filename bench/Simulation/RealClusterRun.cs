using System.Diagnostics;
using System.Globalization;
using System.Text;
using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// <c>--kube-api URL --service name.ns:port</c>: the simulation's traffic against a real Service, through the same
/// watcher (for example via <c>kubectl proxy</c>). Nothing is changed in the cluster; it reports what it saw.
/// The requests go to pod IPs, so run it where those are routable (inside the cluster, or a network that routes them).
/// </summary>
internal static class RealClusterRun
{
    /// <param name="observe">Called with each picker's traffic once it ran (the smoke run's checks).</param>
    public static async Task<(string Tables, List<string> Failures)> RunAsync(BenchCommand command, TextWriter output, CancellationToken cancellationToken, Action<PickerSpec, PhaseStats>? observe = null)
    {
        SimulationSettings settings = command.Settings;
        ServiceReference service = ServiceReference.Parse(command.Service!);
        var keys = new ZipfKeys(settings.Keys, settings.ZipfExponent);
        var text = new StringBuilder();
        List<string> failures = [];
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"## Real cluster: {service} via {command.KubeApi}, {settings.Clients} clients, {command.Duration.TotalSeconds} s per picker, GET {command.Path} through {(settings.Traffic == TrafficPath.Lease ? "leases" : "the HTTP handler")}"));
        text.AppendLine();
        text.AppendLine("| picker | endpoints seen | sets published | requests | errors | busiest endpoint | peak / average | affinity |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (PickerSpec picker in PickerSpec.All(settings.LoadFactor))
        {
            ConsistentHashBalancer? reference = picker.Keyed ? null : new ConsistentHashBalancer();
            var hooks = new WatchHooks(static () => { }, endpoints => reference?.Update(endpoints));
            var options = new KubernetesWatcherOptions { ApiServer = command.KubeApi! };
            await using IBalancedTraffic path = settings.Traffic == TrafficPath.Lease
                ? new LeaseTraffic(picker, service, options, hooks, command.Path, byEndpoint: true)
                : new HandlerTraffic(picker, service, options, hooks, command.Path, byEndpoint: true);
            LoadBalancer balancer = path.Balancer!; // the handler's and the lease's balancers exist from the start
            LoadBalancer home = reference ?? balancer;
            using (var first = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                first.CancelAfter(TimeSpan.FromSeconds(30));
                try
                {
                    await path.WaitForFirstSyncAsync(first.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    string cause = path.WatchStatus.LastError?.ToString() ?? "no answer";
                    failures.Add($"the watcher did not sync {service} from {command.KubeApi} within 30 s: {cause}");
                    break;
                }
            }

            output.WriteLine($"  {picker.Name}: {balancer.Endpoints.Count} endpoints, sending for {command.Duration.TotalSeconds} s");
            var phase = new PhaseStats("traffic");
            var traffic = new TrafficDriver(path.Client, keys, picker.Keyed, key => home.TryPick(key, out Endpoint? e) ? e.Key : null, (_, _, _) => false, phase);
            traffic.SetPhase(phase, checkAffinity: true);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            long started = Stopwatch.GetTimestamp();
            Task running = traffic.RunAsync(settings.Clients, seed: 1000, stop.Token);
            await Task.Delay(command.Duration, cancellationToken).ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
            await running.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false);
            phase.Duration = Stopwatch.GetElapsedTime(started);

            long[] counts = [.. phase.ServedBy.Values];
            double average = counts.Length == 0 ? 0 : counts.Average();
            KeyValuePair<string, long> busiest = phase.ServedBy.OrderByDescending(p => p.Value).FirstOrDefault();
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {picker.Name} | {balancer.Endpoints.Count} | {path.WatchStatus.Version} | {phase.Requests:N0} | {phase.Errors} | {busiest.Key ?? "—"} | {(average > 0 ? busiest.Value / average : double.NaN):F2} | {(phase.AffinityChecked == 0 ? "—" : (100.0 * phase.AffinityHits / phase.AffinityChecked).ToString("F1", CultureInfo.InvariantCulture) + " %")} |"));
            observe?.Invoke(picker, phase);
            if (phase.Requests == 0)
            {
                failures.Add($"{picker.Name}: no request completed in {command.Duration.TotalSeconds} s");
            }

            if (phase.Errors > 0)
            {
                failures.Add($"{picker.Name}: {phase.Errors} of {phase.Requests} requests failed: {string.Join(" | ", phase.Problems)}");
            }
        }

        text.AppendLine();
        return (text.ToString(), failures);
    }

    /// <summary>
    /// For <c>--smoke</c>: this mode against an embedded fake cluster of 3 pods, parsed from the command line a user
    /// would type, so that CI exercises it although no real cluster is at hand.
    /// </summary>
    public static async Task<List<string>> SmokeAsync(TextWriter output, CancellationToken cancellationToken)
    {
        await using EmbeddedCluster cluster = await EmbeddedCluster.StartAsync(3, TimeSpan.FromMilliseconds(1), cancellationToken).ConfigureAwait(false);
        string[] args =
        [
            "--kube-api", cluster.Api.BaseAddress.ToString(),
            "--service", $"{EmbeddedCluster.ServiceName}.{EmbeddedCluster.Namespace}:{EmbeddedCluster.PortName}",
            "--duration", "0.5", "--clients", "4",
        ];
        BenchCommand? command = BenchCommand.Parse(args, out string? error);
        if (command is not { Mode: BenchMode.RealCluster })
        {
            return [$"--kube-api smoke: the command line {string.Join(' ', args)} was not taken as a real-cluster run: {error}"];
        }

        output.WriteLine($"--kube-api against an embedded cluster of 3 pods at {cluster.Api.BaseAddress}:");
        List<string> checks = [];
        (string tables, List<string> failures) = await RunAsync(command, output, cancellationToken, (picker, phase) =>
        {
            // The set does not change here: a plain keyed picker must serve every key from its home pod, and every pod
            // must have served.
            if (picker is { Keyed: true, LoadFactor: null } && phase.AffinityHits != phase.AffinityChecked)
            {
                checks.Add($"{picker.Name}: {phase.AffinityHits} of {phase.AffinityChecked} keyed requests reached their home pod; all must");
            }

            if (phase.ServedBy.Count != 3)
            {
                checks.Add($"{picker.Name}: {phase.ServedBy.Count} of 3 pods served requests");
            }
        }).ConfigureAwait(false);
        failures.AddRange(checks);
        output.WriteLine(tables);
        return [.. failures.Select(f => "--kube-api against the embedded cluster: " + f)];
    }
}
