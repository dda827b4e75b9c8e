using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Yarp;
using LockFree.Balancing.Yarp.Policies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace LockFree.Balancing.Benchmarks.Yarp;

/// <summary>
/// <c>--yarp-proxy</c>: a runnable YARP proxy in front of a Kubernetes Service. An embedded fake API server serves
/// Service <c>orders.shop</c>'s EndpointSlices for Kestrel pods on 127.0.0.1; the proxy resolves
/// <c>k8s://orders.shop:http</c> from the shared watch and balances with a LockFree policy while keyed clients send
/// requests, a pod joins, and a pod leaves the way Kubernetes removes one (out of the slice, drained, then stopped).
/// Prints what each phase did: requests, errors, share per pod, key affinity, peak in flight, how fast the proxy saw
/// each change. Exits 1 on a failed request or a key that moved while the set was stable.
/// </summary>
internal static class YarpProxyDemo
{
    private const string Usage = "usage: --yarp-proxy [--policy LockFreeConsistentHash|LockFreeMaglev|LockFreePowerOfTwoChoices|LockFreeRoundRobin] [--load-factor F] [--seconds S] [--clients N] [--users N]";

    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken)
    {
        string policy = LockFreeLoadBalancingPolicies.ConsistentHash;
        string? loadFactor = null;
        double seconds = 2;
        int clients = 8;
        int users = 200;
        for (int i = 0; i < args.Length; i += 2)
        {
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--policy" when value is not null && PolicyKinds.FromName(value) is not null: policy = value; break;
                case "--load-factor" when value is not null: loadFactor = value; break;
                case "--seconds" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s is > 0 and <= 600: seconds = s; break;
                case "--clients" when int.TryParse(value, CultureInfo.InvariantCulture, out int c) && c is > 0 and <= 256: clients = c; break;
                case "--users" when int.TryParse(value, CultureInfo.InvariantCulture, out int u) && u is > 0 and <= 1_000_000: users = u; break;
                default:
                    Console.Error.WriteLine($"bad option '{args[i]}'{(value is null ? "" : $" '{value}'")}; {Usage}");
                    return 2;
            }
        }

        bool keyed = PolicyKinds.FromName(policy)!.Value.PlacesByKey();
        var metadata = new Dictionary<string, string>();
        if (keyed)
        {
            metadata[LockFreeClusterMetadata.HashKey] = "header:x-user";
            if (loadFactor is not null)
            {
                metadata[LockFreeClusterMetadata.LoadFactor] = loadFactor;
            }
        }

        await using FakeCluster api = await FakeCluster.StartAsync("shop", "orders").ConfigureAwait(false);
        var pods = new List<DemoPod>();
        for (int i = 0; i < 4; i++)
        {
            pods.Add(await DemoPod.StartAsync("pod-" + i).ConfigureAwait(false));
        }

        try
        {
            foreach (DemoPod pod in pods.Take(3))
            {
                api.Apply(pod.Slice);
            }

            ClusterConfig cluster = new()
            {
                ClusterId = "orders",
                LoadBalancingPolicy = policy,
                Metadata = metadata,
                Destinations = new Dictionary<string, DestinationConfig> { ["orders"] = new() { Address = "k8s://orders.shop:http" } },
            };
            RouteConfig route = new() { RouteId = "orders", ClusterId = "orders", Match = new RouteMatch { Path = "{**catch-all}" } };

            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
            builder.Services.AddKubernetesWatchRegistry(o => o.ApiServer = api.BaseAddress);
            builder.Services.AddReverseProxy()
                .LoadFromMemory([route], [cluster])
                .AddKubernetesDestinations(o => o.DefaultNamespace = "shop")
                .AddLockFreeLoadBalancing();
            await using WebApplication proxy = builder.Build();
            proxy.MapReverseProxy();
            await proxy.StartAsync(cancellationToken).ConfigureAwait(false);
            Uri address = new(proxy.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

            output.WriteLine($"YARP proxy on {address} -> k8s://orders.shop:http (fake API server {api.BaseAddress}), policy {policy}"
                + (keyed ? $", key header:x-user, load factor {loadFactor ?? "none"}" : "") + $"; {clients} clients, {users} users, {seconds:0.#} s per phase");
            output.WriteLine();

            var proxyState = proxy.Services.GetRequiredService<IProxyStateLookup>();
            ClusterState State() => proxyState.TryGetCluster("orders", out ClusterState? state) ? state : throw new InvalidOperationException("cluster 'orders' is missing");
            LockFreeLoadBalancingPolicy ours = proxy.Services.GetServices<ILoadBalancingPolicy>().OfType<LockFreeLoadBalancingPolicy>().Single(p => p.Name == policy);
            int[] Ports() => [.. State().DestinationsState.AllDestinations.Select(d => new Uri(d.Model.Config.Address).Port).Order()];
            async Task<double> WaitForPodsAsync(IEnumerable<DemoPod> wanted, Stopwatch since)
            {
                int[] ports = [.. wanted.Select(p => p.Port).Order()];
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                limit.CancelAfter(TimeSpan.FromSeconds(10));
                while (!Ports().SequenceEqual(ports))
                {
                    await Task.Delay(1, limit.Token).ConfigureAwait(false);
                }

                return since.Elapsed.TotalMilliseconds;
            }

            await WaitForPodsAsync(pods.Take(3), Stopwatch.StartNew()).ConfigureAwait(false);
            using var client = new HttpClient(new SocketsHttpHandler()) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
            var phases = new List<PhaseResult>();
            var failures = new List<string>();

            phases.Add(await TrafficAsync("steady, 3 pods", client, pods, clients, users, seconds, null, cancellationToken).ConfigureAwait(false));

            PhaseResult scaleUp = await TrafficAsync("pod-3 joins", client, pods, clients, users, seconds, async () =>
            {
                var clock = Stopwatch.StartNew();
                api.Apply(pods[3].Slice);
                return await WaitForPodsAsync(pods, clock).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            phases.Add(scaleUp);

            PhaseResult scaleDown = await TrafficAsync("pod-0 leaves", client, pods, clients, users, seconds, async () =>
            {
                var clock = Stopwatch.StartNew();
                api.Delete(pods[0].Slice.Name);
                double seen = await WaitForPodsAsync(pods.Skip(1), clock).ConfigureAwait(false);

                // Kubernetes' order: out of the slice, drained (the proxy's in-flight count on it reaches 0), then stopped.
                LoadBalancer core = ours.StateOf(State())!.Current!.Core;
                string key = $"127.0.0.1:{pods[0].Port}";
                while (core.GetStatus().Any(s => s.Endpoint.Key == key && s.InFlight > 0))
                {
                    await Task.Delay(1, cancellationToken).ConfigureAwait(false);
                }

                await pods[0].StopAsync().ConfigureAwait(false);
                return seen;
            }, cancellationToken).ConfigureAwait(false);
            phases.Add(scaleDown);

            phases.Add(await TrafficAsync("steady, 3 pods", client, pods, clients, users, seconds, null, cancellationToken).ConfigureAwait(false));

            output.WriteLine("| Phase | Requests | Errors | Share per pod | Users on one pod | Peak in flight per pod | Change seen by the proxy |");
            output.WriteLine("|---|---:|---:|---|---:|---|---:|");
            foreach (PhaseResult phase in phases)
            {
                output.WriteLine(phase.Row());
                if (phase.Errors > 0)
                {
                    failures.Add($"{phase.Name}: {phase.Errors} failed requests (first: {phase.FirstError})");
                }

                // Bounded loads trade affinity for balance: a key whose home is full goes elsewhere, so 100 % holds without them.
                if (keyed && loadFactor is null && phase.ChangeMs is null && phase.AffinityPercent < 100)
                {
                    failures.Add($"{phase.Name}: {100 - phase.AffinityPercent:0.##} % of users reached more than one pod while the set was stable");
                }
            }

            if (keyed)
            {
                output.WriteLine();
                output.WriteLine($"Keys moved by the join: {Moved(phases[0], phases[1]):0.#} % of users on another pod after pod-3 joined (ideal for 3 -> 4 pods: 25 %"
                    + (loadFactor is null ? ")." : "; with bounded loads a user's last pod also depends on the load at that moment)."));
            }

            LoadBalancer finalCore = ours.StateOf(State())!.Current!.Core;
            output.WriteLine($"Picker tables built: {ours.StateOf(State())!.Rebuilds} (one per destination-set change, never per request); in flight after the run: {finalCore.GetStatus().Sum(s => s.InFlight)}.");
            foreach (string failure in failures)
            {
                Console.Error.WriteLine("ASSERTION FAILED: " + failure);
            }

            await proxy.StopAsync(CancellationToken.None).ConfigureAwait(false);
            return failures.Count == 0 ? 0 : 1;
        }
        finally
        {
            foreach (DemoPod pod in pods)
            {
                await pod.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static double Moved(PhaseResult before, PhaseResult after)
    {
        int common = 0;
        int moved = 0;
        foreach ((string user, string pod) in before.LastPodByUser)
        {
            if (after.LastPodByUser.TryGetValue(user, out string? now))
            {
                common++;
                moved += now == pod ? 0 : 1;
            }
        }

        return common == 0 ? 0 : 100.0 * moved / common;
    }

    private static async Task<PhaseResult> TrafficAsync(
        string name, HttpClient client, List<DemoPod> pods, int clients, int users, double seconds, Func<Task<double>>? change, CancellationToken cancellationToken)
    {
        foreach (DemoPod pod in pods)
        {
            pod.ResetPhase();
        }

        var podsByUser = new ConcurrentDictionary<string, ConcurrentDictionary<string, byte>>();
        var lastByUser = new ConcurrentDictionary<string, string>();
        int requests = 0;
        int errors = 0;
        string? firstError = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task[] workers = [.. Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var random = new Random(c + 1);
            while (!stop.IsCancellationRequested)
            {
                string user = "user-" + random.Next(users).ToString(CultureInfo.InvariantCulture);
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, "/who");
                    request.Headers.TryAddWithoutValidation("x-user", user);
                    using HttpResponseMessage response = await client.SendAsync(request, CancellationToken.None).ConfigureAwait(false);
                    string pod = await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync(CancellationToken.None).ConfigureAwait(false);
                    podsByUser.GetOrAdd(user, _ => new())[pod] = 0;
                    lastByUser[user] = pod;
                    Interlocked.Increment(ref requests);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstError, ex.Message, null);
                }
            }
        }, CancellationToken.None))];

        double? changeMs = null;
        if (change is not null)
        {
            await Task.Delay(TimeSpan.FromSeconds(seconds / 4), cancellationToken).ConfigureAwait(false);
            changeMs = await change().ConfigureAwait(false);
        }

        await Task.Delay(TimeSpan.FromSeconds(change is null ? seconds : seconds * 3 / 4), cancellationToken).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(workers).ConfigureAwait(false);

        int total = Math.Max(1, pods.Sum(p => p.PhaseHits));
        string shares = string.Join(" ", pods.Where(p => p.PhaseHits > 0).Select(p => $"{p.Name} {100.0 * p.PhaseHits / total:0}%"));
        string peaks = string.Join(" ", pods.Where(p => p.PhaseHits > 0).Select(p => $"{p.Name} {p.PhasePeak}"));
        double affinity = podsByUser.IsEmpty ? 100 : 100.0 * podsByUser.Values.Count(s => s.Count == 1) / podsByUser.Count;
        return new PhaseResult(name, requests, errors, firstError, shares, affinity, peaks, changeMs, new Dictionary<string, string>(lastByUser));
    }

    private sealed record PhaseResult(
        string Name, int Requests, int Errors, string? FirstError, string Shares, double AffinityPercent, string Peaks, double? ChangeMs,
        Dictionary<string, string> LastPodByUser)
    {
        public string Row() => string.Create(CultureInfo.InvariantCulture,
            $"| {Name} | {Requests} | {Errors} | {Shares} | {AffinityPercent:0.#} % | {Peaks} | {(ChangeMs is double ms ? $"{ms:0.0} ms" : "-")} |");
    }

    /// <summary>A pod stand-in: Kestrel on 127.0.0.1 answering its name, counting hits and its peak concurrency per phase.</summary>
    private sealed class DemoPod : IAsyncDisposable
    {
        private WebApplication _app = null!;
        private int _active;
        private int _phaseHits;
        private int _phasePeak;
        private bool _stopped;

        public required string Name { get; init; }

        public int Port { get; private set; }

        public int PhaseHits => Volatile.Read(ref _phaseHits);

        public int PhasePeak => Volatile.Read(ref _phasePeak);

        public FakeSlice Slice => new("orders-" + Name, Port, [new FakeSliceEndpoint("127.0.0.1", Name)]);

        public static async Task<DemoPod> StartAsync(string name)
        {
            var pod = new DemoPod { Name = name };
            (pod._app, Uri address) = await LoopbackKestrel.StartAsync(pod.HandleAsync).ConfigureAwait(false);
            pod.Port = address.Port;
            return pod;
        }

        public void ResetPhase()
        {
            Volatile.Write(ref _phaseHits, 0);
            Volatile.Write(ref _phasePeak, 0);
        }

        public async Task StopAsync()
        {
            if (!_stopped)
            {
                _stopped = true;
                await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }

        private async Task HandleAsync(HttpContext context)
        {
            int active = Interlocked.Increment(ref _active);
            Interlocked.Increment(ref _phaseHits);
            int peak = Volatile.Read(ref _phasePeak);
            while (active > peak && Interlocked.CompareExchange(ref _phasePeak, active, peak) != peak)
            {
                peak = Volatile.Read(ref _phasePeak);
            }

            try
            {
                await context.Response.WriteAsync(Name).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _active);
            }
        }
    }
}
