using System.Diagnostics;
using System.Globalization;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>The embedded cluster simulation: starts the cluster, gives each picker its turn, returns what was measured.</summary>
internal static class ClusterSimulation
{
    public static async Task<SimulationOutcome> RunAsync(SimulationSettings settings, TextWriter output, CancellationToken cancellationToken)
    {
        Stopwatch elapsed = Stopwatch.StartNew();
        output.WriteLine($"Cluster simulation ({settings.Preset}): {settings}");
        double timerFloor = PickProbe.TimerFloorNanoseconds();
        var keys = new ZipfKeys(settings.Keys, settings.ZipfExponent);
        await using EmbeddedCluster cluster = await EmbeddedCluster.StartAsync(settings.Pods, settings.ServiceTime, cancellationToken).ConfigureAwait(false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  fake API server {cluster.Api.BaseAddress} (EndpointSlices of {EmbeddedCluster.ServiceName}.{EmbeddedCluster.Namespace}), {settings.Pods} Kestrel backends on 127.0.0.1, started in {elapsed.Elapsed.TotalSeconds:F1} s"));

        List<PickerResult> results = [];
        using (var progress = new Progress(output, interactive: !Console.IsOutputRedirected && ReferenceEquals(output, Console.Out)))
        {
            foreach (PickerSpec picker in (settings.HttpPickers ? PickerSpec.All(settings.LoadFactor) : []).Concat(PickerSpec.Grpc(settings.LoadFactor, settings.GrpcPolicies)))
            {
                var run = new PickerRun(picker, cluster, settings, keys, settings.Traffic, progress);
                PickerResult result;
                try
                {
                    result = await run.RunAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    throw new SimulationException($"{picker.Name}: the simulation stopped: {ex.GetType().Name}: {ex.Message}", ex);
                }

                results.Add(result);
                foreach (string failure in result.Failures)
                {
                    output.WriteLine("  FAILED: " + failure);
                }
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  simulation done in {elapsed.Elapsed.TotalSeconds:F1} s"));
        List<PickerResult> http = [.. results.Where(r => r.Picker.GrpcConfig is null)];
        List<PickerResult> grpc = [.. results.Where(r => r.Picker.GrpcConfig is not null)];
        return new SimulationOutcome(settings, http, timerFloor, elapsed.Elapsed, http.Count > 0 ? http[0].TrafficDescription : "")
        {
            Grpc = grpc,
            GrpcDescription = grpc.Count > 0 ? grpc[0].TrafficDescription : "",
        };
    }
}
