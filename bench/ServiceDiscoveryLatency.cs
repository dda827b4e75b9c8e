using System.Diagnostics;
using System.Globalization;
using System.Text;
using LockFree.Balancing.Benchmarks.Simulation;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using LockFree.Balancing.ServiceDiscovery;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.ServiceDiscovery;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// <c>--sd-latency</c>: how long a pod change takes to reach Microsoft.Extensions.ServiceDiscovery through
/// <c>AddKubernetesEndpoints()</c>. The fake API server sends an EndpointSlice MODIFIED event on the shared watch; the
/// run times the provider's change token firing and the next <see cref="ServiceEndpointResolver"/> resolution
/// returning the new set, for every one of a series of changes (the set alternates between two and three pods),
/// with ServiceDiscovery's <c>RefreshPeriod</c> at 30 minutes so that only the watch can explain a fresh answer.
/// </summary>
internal static class ServiceDiscoveryLatency
{
    private const string Name = "http://_http.web.shop";

    public static async Task<int> RunAsync(TextWriter output, int changes, string? reportPath)
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.SetList("100", SliceWith(100, "10.0.0.1", "10.0.0.2"));
        await using var registry = new KubernetesWatchRegistry(new KubernetesWatcherOptions { ApiServer = server.BaseAddress }, TimeSpan.Zero);
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddSingleton(registry);
        services.AddServiceDiscovery(o => o.RefreshPeriod = TimeSpan.FromMinutes(30))
            .AddKubernetesEndpoints(o => o.DefaultNamespace = "shop");
        await using ServiceProvider provider = services.BuildServiceProvider();
        ServiceEndpointResolver resolver = provider.GetRequiredService<ServiceEndpointResolver>();

        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        ServiceEndpointSource current = await resolver.GetEndpointsAsync(Name, limit.Token);
        WatchConnection watch = await server.NextWatchAsync(TimeSpan.FromSeconds(30));

        var toToken = new double[changes];
        var toResolution = new double[changes];
        for (int i = 0; i < changes; i++)
        {
            // Step 1 – the next set: three pods on even changes, two on odd ones.
            string[] addresses = i % 2 == 0 ? ["10.0.0.1", "10.0.0.2", "10.0.0.3"] : ["10.0.0.1", "10.0.0.2"];
            var fired = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            using IDisposable registration = current.ChangeToken.RegisterChangeCallback(
                static state => ((TaskCompletionSource<long>)state!).TrySetResult(Stopwatch.GetTimestamp()), fired);

            // Step 2 – the event, then the token, then a resolution that returns the new set.
            long sent = Stopwatch.GetTimestamp();
            watch.Send(Event("MODIFIED", SliceWith(101 + i, addresses)));
            long firedAt = await fired.Task.WaitAsync(limit.Token);
            current = await resolver.GetEndpointsAsync(Name, limit.Token);
            long resolvedAt = Stopwatch.GetTimestamp();
            if (current.Endpoints.Count != addresses.Length)
            {
                throw new InvalidOperationException($"change {i}: resolved {current.Endpoints.Count} endpoints, expected {addresses.Length}.");
            }

            toToken[i] = Stopwatch.GetElapsedTime(sent, firedAt).TotalMilliseconds;
            toResolution[i] = Stopwatch.GetElapsedTime(sent, resolvedAt).TotalMilliseconds;
        }

        string report = Report(toToken, toResolution);
        output.WriteLine(report);
        if (reportPath is not null)
        {
            await File.WriteAllTextAsync(reportPath, report, limit.Token);
            output.WriteLine($"Written to {reportPath}.");
        }

        return 0;
    }

    private static string SliceWith(int resourceVersion, params string[] addresses)
        => Slice("web-a", resourceVersion.ToString(CultureInfo.InvariantCulture), "IPv4", Ports("http", 8080), [.. addresses.Select(a => Endpoint(a))]);

    private static string Report(double[] toToken, double[] toResolution)
    {
        MachineInfo machine = MachineInfo.Current(Directory.GetCurrentDirectory());
        var text = new StringBuilder();
        text.AppendLine("# Service Discovery: from an EndpointSlice event to a new resolution");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"`dotnet run -c Release --project bench -- --sd-latency {toToken.Length}`: {toToken.Length} changes of one Service's ready pods (two, three, two, …) sent by the fake API server as EndpointSlice MODIFIED events on the shared watch; `AddServiceDiscovery(o => o.RefreshPeriod = 30 min).AddKubernetesEndpoints()`; API server and client on loopback in one process.");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Machine: {machine.Cpu}, {machine.Cores} cores, {machine.Os}, {machine.Runtime}, commit {machine.Commit}; load average at the end: {MachineInfo.LoadAverage() ?? "n/a"}.");
        text.AppendLine();
        text.AppendLine("| from the event to | median | p90 | p99 | max |");
        text.AppendLine("|---|---:|---:|---:|---:|");
        text.AppendLine(Row("the provider's change token firing", toToken));
        text.AppendLine(Row("the next resolution returning the new set", toResolution));
        text.AppendLine();
        text.AppendLine("ServiceDiscovery's DNS provider learns of a change when its `RefreshPeriod` (60 s by default) or the record's TTL comes round, and a ClusterIP Service's A record never changes with its pods.");
        return text.ToString();
    }

    private static string Row(string label, double[] values)
    {
        double[] sorted = [.. values.Order()];
        return string.Create(CultureInfo.InvariantCulture, $"| {label} | {Quantile(sorted, 0.5):0.00} ms | {Quantile(sorted, 0.9):0.00} ms | {Quantile(sorted, 0.99):0.00} ms | {sorted[^1]:0.00} ms |");
    }

    private static double Quantile(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
}
