using System.Diagnostics;
using System.Globalization;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// The API server's side of a fleet (issue 15): many client processes, each a <see cref="KubernetesWatchRegistry"/>
/// (or, without sharing, one watcher per consumer), watch one Service against <see cref="FakeCluster"/> while a
/// rolling update replaces every pod; the server counts requests, bytes and open watches.
/// </summary>
/// <remarks>
/// Run: <c>dotnet run -c Release --project bench -- --fleet [--clients N] [--consumers K] [--pods P]</c>. Each
/// "process" is a registry with its own connection pool in this one OS process, so the figures are the server's
/// view; client CPU is not measured. A pod replacement is two slice updates (the new pod added ready, the old one
/// removed), each a MODIFIED event carrying the whole slice, as the EndpointSlice controller writes it.
/// </remarks>
internal static class FleetSimulation
{
    private const int EndpointsPerSlice = 100; // the EndpointSlice controller's default --max-endpoints-per-slice

    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken)
    {
        int clients = Option(args, "--clients", 100);
        int consumers = Option(args, "--consumers", 3);
        int pods = Option(args, "--pods", 100);
        if (clients is < 1 or > 5000 || consumers is < 1 or > 16 || pods is < 1 or > 1000)
        {
            output.WriteLine("--clients must be 1-5000, --consumers 1-16, --pods 1-1000.");
            return 2;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Fleet: {clients} client processes x {consumers} consumers of web.shop:http, a Service of {pods} pods rolled once ({pods} pod replacements = {2 * pods} slice updates). {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, load {MachineInfo.LoadAverage() ?? "n/a"}."));
        output.WriteLine();
        var rows = new List<FleetRow>();
        foreach (bool sharing in new[] { true, false })
        {
            rows.Add(await RunOnceAsync(clients, consumers, pods, sharing, cancellationToken).ConfigureAwait(false));
        }

        output.WriteLine(Table(rows, clients, pods));
        return 0;
    }

    private static async Task<FleetRow> RunOnceAsync(int clients, int consumers, int pods, bool sharing, CancellationToken cancellationToken)
    {
        await using FakeCluster api = await FakeCluster.StartAsync("shop", "web").ConfigureAwait(false);
        var slices = new List<List<FakeSliceEndpoint>>();
        for (int i = 0; i < pods; i++)
        {
            if (i % EndpointsPerSlice == 0)
            {
                slices.Add([]);
            }

            slices[^1].Add(new FakeSliceEndpoint(Address(0, i), "old-" + i.ToString(CultureInfo.InvariantCulture)));
        }

        for (int s = 0; s < slices.Count; s++)
        {
            api.Apply(new FakeSlice(SliceName(s), 8080, [.. slices[s]]));
        }

        var service = ServiceReference.Parse("web.shop:http");
        var options = new KubernetesWatcherOptions { ApiServer = api.BaseAddress, RequestTimeout = TimeSpan.FromSeconds(60) };
        int sinks = clients * consumers;
        var latest = new IReadOnlyList<Endpoint>?[sinks];
        var registries = new List<KubernetesWatchRegistry>();
        var watchers = new List<KubernetesEndpointWatcher>();
        var subscriptions = new List<WatchSubscription>();
        var clock = Stopwatch.StartNew();
        try
        {
            for (int c = 0; c < clients; c++)
            {
                KubernetesWatchRegistry? registry = sharing ? new KubernetesWatchRegistry(options) : null;
                if (registry is not null)
                {
                    registries.Add(registry);
                }

                for (int k = 0; k < consumers; k++)
                {
                    int sink = (c * consumers) + k;
                    Action<IReadOnlyList<Endpoint>> onChanged = endpoints => Volatile.Write(ref latest[sink], endpoints);
                    if (registry is not null)
                    {
                        subscriptions.Add(registry.Subscribe(service, onChanged));
                    }
                    else
                    {
                        var watcher = new KubernetesEndpointWatcher(service, onChanged, options);
                        watchers.Add(watcher);
                        watcher.StartBackgroundSync();
                    }
                }
            }

            HashSet<string> initial = [.. Enumerable.Range(0, pods).Select(i => Address(0, i) + ":8080")];
            await ConvergedAsync(latest, initial, cancellationToken).ConfigureAwait(false);
            int expectedWatches = sharing ? clients : clients * consumers;
            while (api.OpenWatches < expectedWatches)
            {
                await Task.Delay(20, cancellationToken).ConfigureAwait(false); // the watches open just after their LIST
            }

            TimeSpan startup = clock.Elapsed;
            Counters before = Counters.Of(api);

            // The rolling update: pod i is replaced by a new pod (added ready), then the old one goes.
            clock.Restart();
            for (int i = 0; i < pods; i++)
            {
                int s = i / EndpointsPerSlice;
                slices[s].Add(new FakeSliceEndpoint(Address(1, i), "new-" + i.ToString(CultureInfo.InvariantCulture)));
                api.Apply(new FakeSlice(SliceName(s), 8080, [.. slices[s]]));
                slices[s].RemoveAll(e => e.Address == Address(0, i));
                api.Apply(new FakeSlice(SliceName(s), 8080, [.. slices[s]]));
            }

            HashSet<string> final = [.. Enumerable.Range(0, pods).Select(i => Address(1, i) + ":8080")];
            await ConvergedAsync(latest, final, cancellationToken).ConfigureAwait(false);
            TimeSpan rollout = clock.Elapsed;
            Counters after = Counters.Of(api);
            return new FleetRow(sharing ? "shared registry (1 watch per process)" : $"no sharing (1 watcher per consumer)", sharing ? clients : clients * consumers, startup, before, rollout, after - before);
        }
        finally
        {
            foreach (WatchSubscription subscription in subscriptions)
            {
                subscription.Dispose();
            }

            foreach (KubernetesWatchRegistry registry in registries)
            {
                await registry.DisposeAsync().ConfigureAwait(false);
            }

            foreach (KubernetesEndpointWatcher watcher in watchers)
            {
                await watcher.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits until every consumer holds exactly <paramref name="expected"/> (polled: the consumers are plain callbacks).</summary>
    private static async Task ConvergedAsync(IReadOnlyList<Endpoint>?[] latest, HashSet<string> expected, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromMinutes(3));
        while (!latest.All(set => set is not null && set.Count == expected.Count && set.All(e => expected.Contains(e.Key))))
        {
            try
            {
                await Task.Delay(20, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                int behind = latest.Count(set => set is null || set.Count != expected.Count || !set.All(e => expected.Contains(e.Key)));
                throw new SimulationException($"{behind} of {latest.Length} consumers did not converge within 3 minutes.");
            }
        }
    }

    private static string Table(List<FleetRow> rows, int clients, int pods)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| | watches open | startup: LISTs (from etcd) / WATCHes / MB | startup s | rollout: LISTs / WATCHes | rollout MB sent | per client per 100 pod changes | rollout s | WATCH requests / hour, healthy (290 s) | LISTs / hour, healthy (before issue 15: 2 per watch) |"));
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (FleetRow row in rows)
        {
            double perClient = row.Rollout.Bytes / (double)clients * (100.0 / pods) / 1024;
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {row.Name} | {row.Before.OpenWatches} | {row.Before.Lists} ({row.Before.EtcdLists}) / {row.Before.Watches} / {row.Before.Bytes / 1048576.0:0.00} | {row.Startup.TotalSeconds:0.0} | {row.Rollout.Lists} / {row.Rollout.Watches} | {row.Rollout.Bytes / 1048576.0:0.00} | {perClient:0.0} KiB, {row.Rollout.Lists + row.Rollout.Watches} requests | {row.RolloutTime.TotalSeconds:0.0} | {row.Watches * 3600 / 290.0:0} | 0 (before: {row.Watches * 2}) |"));
        }

        return text.ToString();
    }

    private static string Address(int generation, int pod)
        => string.Create(CultureInfo.InvariantCulture, $"10.{generation}.{pod / 250}.{(pod % 250) + 1}");

    private static string SliceName(int index) => "web-" + index.ToString(CultureInfo.InvariantCulture);

    private static int Option(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out int value) ? value : fallback;
    }

    private sealed record FleetRow(string Name, int Watches, TimeSpan Startup, Counters Before, TimeSpan RolloutTime, Counters Rollout);

    private readonly record struct Counters(int Lists, int EtcdLists, int Watches, long Bytes, int OpenWatches)
    {
        public static Counters Of(FakeCluster api) => new(api.ListRequests, api.EtcdListRequests, api.WatchRequests, api.BytesSent, api.OpenWatches);

        public static Counters operator -(Counters a, Counters b) => new(a.Lists - b.Lists, a.EtcdLists - b.EtcdLists, a.Watches - b.Watches, a.Bytes - b.Bytes, a.OpenWatches);
    }
}
