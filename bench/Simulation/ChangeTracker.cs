using System.Collections.Concurrent;
using System.Diagnostics;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// Measures the time from a change made on the API server to the moment the picker serves picks from a set
/// that reflects it. The simulation registers what it expects (a key present or absent) just before it changes
/// the cluster; the watcher's callback, right after the balancer's <c>Update</c> returned, settles every
/// expectation the published set now meets.
/// </summary>
/// <remarks>
/// Threading: <see cref="Expect"/> runs on the simulation's thread, <see cref="Observe"/> on the watch loop; one
/// lock orders them. A removal's "seen" timestamp is kept per pod for the check that no request started after it
/// reaches the pod.
/// </remarks>
internal sealed class ChangeTracker
{
    private readonly Lock _gate = new();
    private readonly List<Expectation> _pending = [];
    private readonly ConcurrentDictionary<string, RemovalWindow> _removals = new(StringComparer.Ordinal);
    private IReadOnlyList<Endpoint> _current = [];
    private int _minimumSetSize = int.MaxValue;
    private long _publications;

    /// <summary>Time from each API change to the picker seeing it, in microseconds, by the category given to <see cref="Expect"/>.</summary>
    public ConcurrentDictionary<string, Samples> LatencyMicroseconds { get; } = new(StringComparer.Ordinal);

    /// <summary>The smallest endpoint set the balancer held (bounds the bounded-load cap).</summary>
    public int MinimumSetSize
    {
        get
        {
            lock (_gate)
            {
                return _minimumSetSize;
            }
        }
    }

    public const string LiveWatch = "live watch";
    public const string ResumedWatch = "resumed watch";
    public const string Relist = "relist";

    /// <summary>Sets published to the balancer.</summary>
    public long Publications => Interlocked.Read(ref _publications);

    /// <summary>Expects <paramref name="endpointKey"/> to become present or absent; returns a task completing when it is seen.</summary>
    /// <param name="endpointKey">The pod's endpoint key.</param>
    /// <param name="present">Whether the pod should appear (ready) or disappear.</param>
    /// <param name="podName">The pod.</param>
    /// <param name="category">How the change travels (live watch, resumed watch, relist), for the latency table.</param>
    public Task<long> Expect(string endpointKey, bool present, string podName, string category)
    {
        LatencyMicroseconds.GetOrAdd(category, static _ => new Samples(100_000));
        var expectation = new Expectation(endpointKey, present, podName, category, Stopwatch.GetTimestamp());
        lock (_gate)
        {
            _pending.Add(expectation);
        }

        return expectation.Seen.Task;
    }

    /// <summary>Adds a latency measured elsewhere (the gRPC phase's API change → ready in the policy's picker) under <paramref name="category"/>.</summary>
    public void Record(string category, long microseconds)
        => LatencyMicroseconds.GetOrAdd(category, static _ => new Samples(100_000)).Add(microseconds);

    /// <summary>Called by the watcher's callback after the balancer took <paramref name="endpoints"/>.</summary>
    /// <param name="endpoints">The set now published.</param>
    /// <param name="publishing">A timestamp taken just before the balancer's <c>Update</c>.</param>
    public void Observe(IReadOnlyList<Endpoint> endpoints, long publishing)
    {
        long now = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _publications);
        var keys = new HashSet<string>(endpoints.Select(e => e.Key), StringComparer.Ordinal);
        List<Expectation> settled = [];
        lock (_gate)
        {
            _current = endpoints;
            _minimumSetSize = Math.Min(_minimumSetSize, endpoints.Count);
            for (int i = _pending.Count - 1; i >= 0; i--)
            {
                Expectation e = _pending[i];
                if (keys.Contains(e.EndpointKey) == e.Present)
                {
                    _pending.RemoveAt(i);
                    settled.Add(e);
                    if (!e.Present)
                    {
                        _removals[e.PodName] = new RemovalWindow(now, long.MaxValue);
                    }
                    else if (_removals.TryGetValue(e.PodName, out RemovalWindow window))
                    {
                        // Back (a readiness flap): requests may reach it again from the moment this set went out.
                        _removals[e.PodName] = window with { ReturnedAt = publishing };
                    }
                }
            }
        }

        foreach (Expectation e in settled)
        {
            LatencyMicroseconds[e.Category].Add((long)Stopwatch.GetElapsedTime(e.ChangedAt, now).TotalMicroseconds);
            e.Seen.TrySetResult(now);
        }
    }

    /// <summary>
    /// Whether a request that started at <paramref name="started"/> and completed at <paramref name="completed"/>
    /// must not have reached <paramref name="podName"/>: it started after the picker saw the pod removed, and
    /// completed before the pod came back (so its pick cannot have seen the pod's return either).
    /// </summary>
    public bool MustNotReach(string podName, long started, long completed)
        => _removals.TryGetValue(podName, out RemovalWindow window) && started > window.SeenAt && completed < window.ReturnedAt;

    public IReadOnlyList<Endpoint> Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    private readonly record struct RemovalWindow(long SeenAt, long ReturnedAt);

    private sealed record Expectation(string EndpointKey, bool Present, string PodName, string Category, long ChangedAt)
    {
        public TaskCompletionSource<long> Seen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
