using System.Diagnostics;
using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// One picker's turn on the embedded cluster: a fresh balancer kept current by the real
/// <see cref="KubernetesEndpointWatcher"/>, traffic through the chosen client, then the phases: steady, rolling
/// update, scale-down by one, a watch dropped by the server, an in-stream 410 forcing a relist. It leaves the
/// cluster with as many ready pods as it found. A gRPC policy (<see cref="PickerSpec.GrpcConfig"/>) runs the same
/// phases on the pods' <c>grpc</c> port through <see cref="GrpcTraffic"/>, without the pick probe.
/// </summary>
internal sealed class PickerRun
{
    /// <summary>The longest a change may take to reach the picker before the run calls it lost.</summary>
    private static readonly TimeSpan SeenTimeout = TimeSpan.FromSeconds(15);

    private readonly PickerSpec _picker;
    private readonly EmbeddedCluster _cluster;
    private readonly SimulationSettings _settings;
    private readonly ZipfKeys _keys;
    private readonly TrafficPath _path;
    private readonly Progress _progress;
    private readonly PickerResult _result;
    private readonly ChangeTracker _tracker = new();
    private readonly Samples _steadyPicks = new(4_000_000);
    private readonly Samples _churnPicks = new(4_000_000);
    private readonly bool _grpc;
    private LoadBalancer? _core;

    /// <summary>For the gRPC phase: API change → the policy's core balancer holds the ready (connected) subchannel, or dropped it.</summary>
    public const string GrpcPicker = "gRPC picker";

    public PickerRun(PickerSpec picker, EmbeddedCluster cluster, SimulationSettings settings, ZipfKeys keys, TrafficPath path, Progress progress)
    {
        _picker = picker;
        _cluster = cluster;
        _settings = settings;
        _keys = keys;
        _path = path;
        _progress = progress;
        _result = new PickerResult(picker);
        _grpc = picker.GrpcConfig is not null;
    }

    public async Task<PickerResult> RunAsync(CancellationToken cancellationToken)
    {
        // Affinity is measured against the key's home: the picker's own plain placement for keyed pickers (a
        // bounded picker's TryPick is its home without counting), a plain ring for the others.
        ConsistentHashBalancer? reference = _picker.Keyed ? null : new ConsistentHashBalancer();
        int watchRequestsBefore = _cluster.Api.WatchRequests;

        var options = new KubernetesWatcherOptions
        {
            ApiServer = _cluster.Api.BaseAddress,
            InitialBackoff = TimeSpan.FromMilliseconds(100),
            MaxBackoff = TimeSpan.FromSeconds(1),
            WatchTimeout = TimeSpan.FromMinutes(5),
            IdleTimeout = TimeSpan.FromMinutes(6),
            RequestTimeout = TimeSpan.FromSeconds(5),
            Random = new Random(3),
        };
        long publishing = 0; // written and read by the watch loop only, around one delivery
        var hooks = new WatchHooks(
            () => publishing = Stopwatch.GetTimestamp(),
            endpoints =>
            {
                reference?.Update(endpoints);
                _tracker.Observe(endpoints, publishing);
            });
        var service = ServiceReference.Create(EmbeddedCluster.ServiceName, EmbeddedCluster.Namespace, _grpc ? EmbeddedCluster.GrpcPortName : EmbeddedCluster.PortName);
        await using IBalancedTraffic path = _grpc ? new GrpcTraffic(_picker, service, options, hooks) : _path switch
        {
            TrafficPath.Lease => new LeaseTraffic(_picker, service, options, hooks),
            _ => new HandlerTraffic(_picker, service, options, hooks),
        };
        _result.TrafficDescription = path.Description;
        using (var firstSync = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            firstSync.CancelAfter(SeenTimeout);
            try
            {
                await path.WaitForFirstSyncAsync(firstSync.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new SimulationException($"the watcher did not sync within {SeenTimeout.TotalSeconds} s: {path.WatchStatus.LastError?.ToString() ?? "no error recorded"}");
            }
        }

        LoadBalancer? balancer = path.Balancer;
        _core = _grpc ? balancer : null;
        LoadBalancer? home = reference ?? balancer;
        if (_core is not null)
        {
            // The channel connects every subchannel; the steady phase starts once all of them are in the picker.
            await WaitForCoreAsync(_core, [.. _cluster.Pods.Select(EndpointOf)], present: true, cancellationToken).ConfigureAwait(false);
        }

        if (balancer is not null && balancer.Endpoints.Count != _cluster.Pods.Count)
        {
            _result.Failures.Add($"{_picker.Name}: after the first sync the picker holds {balancer.Endpoints.Count} endpoints, the cluster has {_cluster.Pods.Count} ready pods");
        }

        foreach (BackendPod pod in _cluster.AllPods)
        {
            pod.TakePeakInFlight(); // the previous picker's peak
        }

        var steady = new PhaseStats("steady");
        // A policy without a LockFree balancer (ring_hash): a key's home is the pod its first steady call reached.
        var firstPod = new System.Collections.Concurrent.ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var traffic = new TrafficDriver(
            path.Client,
            _keys,
            _picker.Keyed,
            key => home is not null && home.TryPick(key, out Endpoint? e) ? PodOf(e.Key) : null,
            _tracker.MustNotReach,
            steady)
        {
            AtHome = home is null ? (key, pod) => string.Equals(firstPod.GetOrAdd(key, pod), pod, StringComparison.Ordinal) : null,
        };

        // The probe's leases would count on the gRPC policy's own balancer: no probe there (GrpcPickerBenchmarks times those picks).
        PickProbe? probe = _grpc || balancer is null ? null : new PickProbe(balancer, _keys, _picker.Keyed, _steadyPicks);
        InFlightSampler? sampler = balancer is null ? null : new InFlightSampler(balancer);

        using var stopTraffic = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task clients = traffic.RunAsync(_settings.Clients, seed: 1000, stopTraffic.Token);
        Task probing = probe?.RunAsync(stopTraffic.Token) ?? Task.CompletedTask;
        Task sampling = sampler?.RunAsync(stopTraffic.Token) ?? Task.CompletedTask;
        try
        {
            await PhaseAsync(traffic, steady, checkAffinity: true, () => Task.Delay(_settings.Steady, cancellationToken), cancellationToken).ConfigureAwait(false);
            CollectSteadyShare(steady);
            probe?.RecordInto(_churnPicks);
            await PhaseAsync(traffic, new PhaseStats("rolling update"), false, () => RollingUpdateAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
            await PhaseAsync(traffic, new PhaseStats("scale-down by one"), false, () => ScaleDownAsync(balancer, cancellationToken), cancellationToken).ConfigureAwait(false);
            await PhaseAsync(traffic, new PhaseStats("watch dropped"), false, () => WatchDropAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
            await PhaseAsync(traffic, new PhaseStats("410 relist"), false, () => RelistAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await stopTraffic.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(clients, probing, sampling).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false);
            _progress.EndPhase();
        }

        foreach ((string category, Samples samples) in _tracker.LatencyMicroseconds)
        {
            _result.EventLatencyMicroseconds[category] = samples.Sorted();
        }

        foreach (BackendPod pod in _cluster.AllPods)
        {
            int peak = pod.TakePeakInFlight();
            if (peak > _result.ServerPeakInFlight)
            {
                _result.ServerPeakInFlight = peak;
                _result.ServerPeakPod = pod.Name;
            }
        }

        _result.SteadyPickNanoseconds = _steadyPicks.Sorted();
        _result.ChurnPickNanoseconds = _churnPicks.Sorted();
        _result.ProbeMisses = probe?.Misses ?? 0;
        _result.PeakInFlight = sampler?.Peak;
        _result.PeakInFlightEndpoint = sampler is null ? "" : PodOf(sampler.PeakEndpoint) ?? sampler.PeakEndpoint;
        _result.AverageInFlightPerEndpoint = sampler?.AveragePerEndpoint;
        _result.Concurrency = _settings.Clients + (probe is null ? 0 : 1); // the clients and the probe each hold at most one lease
        _result.MinimumSetSize = _tracker.MinimumSetSize;
        _result.WatcherLists = path.WatchStatus.ListCount;
        _result.WatcherVersions = path.WatchStatus.Version;
        _result.WatchRequests = _cluster.Api.WatchRequests - watchRequestsBefore;
        if (_picker.LoadFactor is double c)
        {
            _result.InFlightCap = (int)Math.Ceiling(c * _result.Concurrency / _result.MinimumSetSize);
        }

        Check();
        return _result;
    }

    private string? PodOf(string endpointKey) => _cluster.PodNameOf(endpointKey);

    /// <summary>The pod's endpoint key on the port this run balances.</summary>
    private string EndpointOf(BackendPod pod) => _grpc ? pod.GrpcEndpointKey : pod.EndpointKey;

    private async Task PhaseAsync(TrafficDriver traffic, PhaseStats phase, bool checkAffinity, Func<Task> body, CancellationToken cancellationToken)
    {
        _result.Phases.Add(phase);
        traffic.SetPhase(phase, checkAffinity);
        _progress.BeginPhase(_picker.Name, phase, _tracker);
        long started = Stopwatch.GetTimestamp();
        await body().ConfigureAwait(false);
        phase.Duration = Stopwatch.GetElapsedTime(started);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private void CollectSteadyShare(PhaseStats steady)
    {
        foreach (BackendPod pod in _cluster.Pods.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            _result.SteadyShare.Add((pod.Name, steady.ServedBy.GetValueOrDefault(pod.Name)));
        }
    }

    /// <summary>One pod at a time (surge 1, unavailable 0): a new pod starts, turns ready, then the oldest terminates and is deleted.</summary>
    private async Task RollingUpdateAsync(CancellationToken cancellationToken)
    {
        int count = Math.Min(_settings.RollingPods, _cluster.Pods.Count);
        for (int i = 0; i < count; i++)
        {
            BackendPod oldest = _cluster.Pods[0];
            BackendPod fresh = await _cluster.StartPodAsync(cancellationToken).ConfigureAwait(false);
            await Task.Delay(_settings.PodGrace, cancellationToken).ConfigureAwait(false); // the readiness probe's delay
            await ChangeAsync(fresh, present: true, () => _cluster.MarkReady(fresh), ChangeTracker.LiveWatch, cancellationToken).ConfigureAwait(false);
            await RemoveAsync(oldest, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ScaleDownAsync(LoadBalancer? balancer, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        BackendPod leaving = _cluster.Pods[_cluster.Pods.Count / 2];
        string[]? before = _picker.Keyed && balancer is not null ? Homes(balancer) : null;
        int podsBefore = balancer?.Endpoints.Count ?? 0;
        await RemoveAsync(leaving, cancellationToken).ConfigureAwait(false);
        if (before is not null)
        {
            string[] after = Homes(balancer!);
            int moved = 0;
            int onRemoved = 0;
            for (int i = 0; i < before.Length; i++)
            {
                moved += before[i] == after[i] ? 0 : 1;
                onRemoved += before[i] == EndpointOf(leaving) ? 1 : 0;
            }

            _result.ScaleDownMovement = new KeyMovement(before.Length, podsBefore, moved, onRemoved);
        }

        await RestOfPhaseAsync(started, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The server cuts the watch; while the watcher reconnects, a pod's readiness flaps. The resumed watch must replay both changes.</summary>
    private async Task WatchDropAsync(CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        BackendPod flapping = _cluster.Pods[0];
        if (_cluster.Api.DropWatches() == 0)
        {
            _result.Failures.Add($"{_picker.Name}: no watch was open to drop");
        }

        await ChangeAsync(flapping, present: false, () => _cluster.MarkNotReady(flapping), ChangeTracker.ResumedWatch, cancellationToken).ConfigureAwait(false);
        await Task.Delay(_settings.PodGrace, cancellationToken).ConfigureAwait(false);
        await ChangeAsync(flapping, present: true, () => _cluster.MarkReady(flapping), ChangeTracker.LiveWatch, cancellationToken).ConfigureAwait(false);
        await RestOfPhaseAsync(started, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>History is compacted and the open watch gets an in-stream 410; a pod is added (scaling back up) meanwhile. Only a relist finds it.</summary>
    private async Task RelistAsync(CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        if (_cluster.Api.ExpireWatches() == 0)
        {
            _result.Failures.Add($"{_picker.Name}: no watch was open to expire");
        }

        BackendPod fresh = await _cluster.StartPodAsync(cancellationToken).ConfigureAwait(false);
        await Task.Delay(_settings.PodGrace, cancellationToken).ConfigureAwait(false);
        await ChangeAsync(fresh, present: true, () => _cluster.MarkReady(fresh), ChangeTracker.Relist, cancellationToken).ConfigureAwait(false);
        await RestOfPhaseAsync(started, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Terminates a pod, waits until the picker no longer holds it, lets its last requests finish, then deletes it.</summary>
    private async Task RemoveAsync(BackendPod pod, CancellationToken cancellationToken)
    {
        await ChangeAsync(pod, present: false, () => _cluster.Terminate(pod), ChangeTracker.LiveWatch, cancellationToken).ConfigureAwait(false);
        await Task.Delay(_settings.PodGrace, cancellationToken).ConfigureAwait(false);
        await _cluster.DeleteAsync(pod).ConfigureAwait(false);
    }

    private async Task ChangeAsync(BackendPod pod, bool present, Action change, string category, CancellationToken cancellationToken)
    {
        string endpoint = EndpointOf(pod);
        Task<long> seen = _tracker.Expect(endpoint, present, pod.Name, category);
        long changed = Stopwatch.GetTimestamp();
        change();
        try
        {
            await seen.WaitAsync(SeenTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _result.Failures.Add($"{_picker.Name}: the picker did not see {pod.Name} become {(present ? "ready" : "unready")} within {SeenTimeout.TotalSeconds} s");
            return;
        }

        if (_core is not null && await WaitForCoreAsync(_core, [endpoint], present, cancellationToken).ConfigureAwait(false))
        {
            // A new endpoint is pickable once its subchannel connected; the phase goes on only then, as a rollout
            // waits for a new pod before it takes an old one down.
            _tracker.Record(GrpcPicker, (long)Stopwatch.GetElapsedTime(changed).TotalMicroseconds);
        }
    }

    /// <summary>Waits (polling every millisecond) until the gRPC policy's core balancer holds, or no longer holds, every one of <paramref name="endpoints"/>.</summary>
    private async Task<bool> WaitForCoreAsync(LoadBalancer core, string[] endpoints, bool present, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        while (!endpoints.All(e => core.Endpoints.Any(x => x.Key == e) == present))
        {
            if (Stopwatch.GetElapsedTime(started) > SeenTimeout)
            {
                _result.Failures.Add($"{_picker.Name}: the gRPC policy's picker did not {(present ? "take" : "drop")} {string.Join(", ", endpoints)} within {SeenTimeout.TotalSeconds} s");
                return false;
            }

            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private async Task RestOfPhaseAsync(long started, CancellationToken cancellationToken)
    {
        TimeSpan left = _settings.Phase - Stopwatch.GetElapsedTime(started);
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left, cancellationToken).ConfigureAwait(false);
        }
    }

    private string[] Homes(LoadBalancer balancer)
    {
        string[] homes = new string[_keys.Keys.Length];
        for (int i = 0; i < homes.Length; i++)
        {
            homes[i] = balancer.TryPick(_keys.Keys[i], out Endpoint? e) ? e.Key : "";
        }

        return homes;
    }

    /// <summary>The run's own assertions; each failure is recorded and makes the process exit non-zero.</summary>
    private void Check()
    {
        string name = _picker.Name;
        foreach (PhaseStats phase in _result.Phases)
        {
            if (phase.Errors > 0)
            {
                _result.Failures.Add($"{name}, {phase.Name}: {phase.Errors} of {phase.Requests} idempotent requests failed (expected 0): {string.Join(" | ", phase.Problems)}");
            }

            if (phase.Violations > 0)
            {
                _result.Failures.Add($"{name}, {phase.Name}: {phase.Violations} requests reached a pod after the picker had seen it removed: {string.Join(" | ", phase.Problems)}");
            }

            if (phase.Requests == 0)
            {
                _result.Failures.Add($"{name}, {phase.Name}: no request completed");
            }
        }

        if (_result.InFlightCap is int cap)
        {
            if (_result.PeakInFlight > cap)
            {
                _result.Failures.Add($"{name}: the balancer counted {_result.PeakInFlight} requests in flight on {_result.PeakInFlightEndpoint}, above the bounded-load cap ⌈c · {_result.Concurrency} / {_result.MinimumSetSize}⌉ = {cap}");
            }

            if (_result.ServerPeakInFlight > cap)
            {
                _result.Failures.Add($"{name}: {_result.ServerPeakPod} had {_result.ServerPeakInFlight} requests in progress at once, above the bounded-load cap ⌈c · {_result.Concurrency} / {_result.MinimumSetSize}⌉ = {cap}");
            }
        }

        if (_picker.Keyed && _picker.LoadFactor is null && _result.Steady.AffinityHits != _result.Steady.AffinityChecked)
        {
            _result.Failures.Add($"{name}: only {_result.Steady.AffinityHits} of {_result.Steady.AffinityChecked} steady-phase requests reached their key's home pod (expected all: no churn, no bound)");
        }

        if (_result.ScaleDownMovement is { } movement && _picker.Name == "consistent hash" && movement.BetweenSurvivors != 0)
        {
            _result.Failures.Add($"{name}: {movement.BetweenSurvivors} keys moved between surviving pods on a scale-down (a ring moves none)");
        }

        if (_result.WatcherLists < 2)
        {
            _result.Failures.Add($"{name}: the watcher listed {_result.WatcherLists} time(s); the in-stream 410 should have forced a relist");
        }

        if (_result.WatchRequests < 3)
        {
            _result.Failures.Add($"{name}: {_result.WatchRequests} WATCH requests; the dropped watch and the 410 should each have caused a new one");
        }

        if (_result.ProbeMisses > 0)
        {
            _result.Failures.Add($"{name}: {_result.ProbeMisses} picks found no endpoint");
        }
    }
}
