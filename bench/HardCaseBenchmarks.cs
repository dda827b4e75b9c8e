using System.Text;
using BenchmarkDotNet.Attributes;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// The picks that leave the fast path, single-threaded, at N = 10, 100 and 1000, V = 160, c = 1.25: text keys
/// (<see cref="ReadOnlySpan{T}"/> of <see cref="char"/>, the HTTP integration's path), bounded acquires whose home
/// is full (overflow) or where every endpoint is full, picks while outlier ejection is in force, and power of two
/// choices under each <see cref="LoadMeasure"/>. Read against <see cref="BoundedLoadAcquire"/>, the common case.
/// </summary>
/// <remarks>
/// <para>
/// Loads are pinned with the internal hook <c>CurrentSnapshot.States[i].TryAdd()</c>: it counts a request on an
/// endpoint without counting it in the balancer's total, so the capacity of every endpoint stays 1 (the total
/// read is only the request being placed) while a pinned endpoint holds 1: it is full, and stays full for the
/// whole run because each acquire is released before the next. With counts kept consistent (every load in the
/// total) at most 1/c = 80 % of the endpoints can be full at once (the capacities sum to more than c times the
/// total), so <see cref="BoundedLoadAcquireOverflow"/> pins 75 %: the hardest consistent state.
/// <see cref="BoundedLoadAcquireAllFull"/> pins every endpoint, a state only reachable transiently under
/// concurrency: it measures what a bounded acquire costs when it must go over capacity (one sweep of the endpoints, then the least loaded one).
/// </para>
/// <para>
/// Ejections are made in the setup the way an application makes them: leases on the target endpoints end with
/// <see cref="EndpointLease.Fail"/> (<c>ConsecutiveFailures = 1</c>) until a fifth of the endpoints are ejected;
/// a <see cref="FrozenTimeProvider"/> keeps them ejected for the whole run.
/// </para>
/// </remarks>
public class HardCaseBenchmarks : ISmokeChecked
{
    /// <summary>Picks per benchmark call.</summary>
    public const int PicksPerInvoke = 64;

    private byte[][] _keys = [];
    private string[] _textKeys = [];
    private int _cursor;
    private HashSet<Endpoint> _members = [];
    private ConsistentHashBalancer _plain = null!;
    private ConsistentHashBalancer _bounded = null!;
    private ConsistentHashBalancer _overflowing = null!;
    private ConsistentHashBalancer _allFull = null!;
    private ConsistentHashBalancer _plainEjecting = null!;
    private ConsistentHashBalancer _boundedEjecting = null!;
    private PowerOfTwoChoicesBalancer _inFlight = null!;
    private PowerOfTwoChoicesBalancer _requestRate = null!;
    private PowerOfTwoChoicesBalancer _reported = null!;
    private HashSet<Endpoint> _ejected = [];

    /// <summary>Endpoints in the set.</summary>
    [Params(10, 100, 1000)]
    public int N { get; set; }

    /// <summary>Builds every balancer once and puts it in its hard state.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _keys = KeyPool.Create();
        _textKeys = [.. _keys.Select(k => Encoding.UTF8.GetString(k))];
        _cursor = 0;
        Endpoint[] endpoints = TestCluster.Endpoints(N);
        _members = [.. endpoints];
        _plain = TestCluster.Plain(endpoints);
        _bounded = TestCluster.Bounded(endpoints);

        _overflowing = TestCluster.Bounded(endpoints);
        Pin(_overflowing, index => index % 4 != 0);
        _allFull = TestCluster.Bounded(endpoints);
        Pin(_allFull, _ => true);

        OutlierEjectionOptions ejection = new() { ConsecutiveFailures = 1, MaxEjectedShare = 0.5 };
        FrozenTimeProvider clock = new();
        _plainEjecting = new ConsistentHashBalancer(new ConsistentHashOptions { VirtualNodesPerEndpoint = TestCluster.VirtualNodes, OutlierEjection = ejection, TimeProvider = clock });
        _plainEjecting.Update(endpoints);
        _boundedEjecting = new ConsistentHashBalancer(new ConsistentHashOptions { VirtualNodesPerEndpoint = TestCluster.VirtualNodes, LoadFactor = TestCluster.LoadFactor, OutlierEjection = ejection, TimeProvider = clock });
        _boundedEjecting.Update(endpoints);
        _ejected = [.. endpoints.Where((_, i) => i % 5 == 0)];
        EjectThroughFailedLeases(_plainEjecting);
        EjectThroughFailedLeases(_boundedEjecting);

        _inFlight = new PowerOfTwoChoicesBalancer(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.InFlight });
        _inFlight.Update(endpoints);
        _requestRate = new PowerOfTwoChoicesBalancer(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.RequestRate });
        _requestRate.Update(endpoints);
        _reported = new PowerOfTwoChoicesBalancer(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.Reported });
        _reported.Update(endpoints);
        for (int i = 0; i < endpoints.Length; i++)
        {
            _reported.ReportLoad(endpoints[i], 0.1 + (i % 7 * 0.1));
        }
    }

    /// <summary>Baseline: bounded acquire + dispose over byte keys with nothing full: the common case.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? BoundedLoadAcquire() => AcquireAndRelease(_bounded);

    /// <summary>Plain pick by byte key (no load counted), for the text row to be read against.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? ConsistentHashPick()
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            _plain.TryPick(keys[(start + i) & KeyPool.Mask], out picked);
        }

        return picked;
    }

    /// <summary>Plain pick by text key (<c>ReadOnlySpan&lt;char&gt;</c>: these ASCII keys of 16–32 chars are hashed from their chars, then the same pick).</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? ConsistentHashPickText()
    {
        string[] keys = _textKeys;
        int start = NextBatch();
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            _plain.TryPick(keys[(start + i) & KeyPool.Mask].AsSpan(), out picked);
        }

        return picked;
    }

    /// <summary>Bounded acquire + dispose by text key: the HTTP integration's path (header value → lease).</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? BoundedLoadAcquireText()
    {
        string[] keys = _textKeys;
        int start = NextBatch();
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            if (_bounded.TryAcquire(keys[(start + i) & KeyPool.Mask].AsSpan(), out EndpointLease lease))
            {
                picked = lease.Endpoint;
                lease.Dispose();
            }
        }

        return picked;
    }

    /// <summary>Bounded acquire with 75 % of the endpoints full: ~3 in 4 homes are full and the probes look for the rest.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? BoundedLoadAcquireOverflow() => AcquireAndRelease(_overflowing);

    /// <summary>
    /// Bounded acquire with every endpoint full: each acquire probes, sweeps every endpoint once (noting the least loaded),
    /// finds the total unchanged, then places the request over capacity on the least loaded endpoint
    /// (<see cref="PickOutcome.OverCapacity"/>). Returns those placements.
    /// </summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public int BoundedLoadAcquireAllFull()
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        int overCapacity = 0;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            if (_allFull.TryAcquire(keys[(start + i) & KeyPool.Mask], out EndpointLease lease))
            {
                overCapacity += lease.Outcome == PickOutcome.OverCapacity ? 1 : 0;
                lease.Dispose();
            }
        }

        return overCapacity;
    }

    /// <summary>Plain pick with a fifth of the endpoints ejected: a key whose home is ejected moves on.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? ConsistentHashPickEjected()
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            _plainEjecting.TryPick(keys[(start + i) & KeyPool.Mask], out picked);
        }

        return picked;
    }

    /// <summary>Bounded acquire + dispose with a fifth of the endpoints ejected: every placement reads the clock and the available weight (cached per ejection epoch) and skips ejected candidates.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? BoundedLoadAcquireEjected() => AcquireAndRelease(_boundedEjecting);

    /// <summary>Power of two choices by requests in flight (the default), acquire + dispose.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? PowerOfTwoChoicesInFlight() => KeylessAcquireAndRelease(_inFlight);

    /// <summary>Power of two choices by decaying request rate, acquire + dispose (the acquire records the request).</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? PowerOfTwoChoicesRequestRate() => KeylessAcquireAndRelease(_requestRate);

    /// <summary>Power of two choices by reported (and fading) load, acquire + dispose.</summary>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public Endpoint? PowerOfTwoChoicesReported() => KeylessAcquireAndRelease(_reported);

    void ISmokeChecked.CheckResult(string benchmark, object? result)
    {
        switch (result)
        {
            case Endpoint endpoint when !_members.Contains(endpoint):
                throw new InvalidOperationException($"{benchmark} picked {endpoint}, which is not in the set.");
            case Endpoint endpoint when benchmark.EndsWith("Ejected", StringComparison.Ordinal) && _ejected.Contains(endpoint):
                throw new InvalidOperationException($"{benchmark} picked {endpoint}, which is ejected.");
            case Endpoint:
                break;
            case int overCapacity when overCapacity != PicksPerInvoke:
                throw new InvalidOperationException($"{benchmark}: {overCapacity} of {PicksPerInvoke} acquires were placed over capacity with every endpoint full (expected all).");
            case int:
                break;
            default:
                throw new InvalidOperationException($"{benchmark} returned {result?.ToString() ?? "null"}.");
        }
    }

    void ISmokeChecked.CheckAfterCalls(string benchmark)
    {
        foreach (LoadBalancer balancer in new LoadBalancer[] { _plainEjecting, _boundedEjecting })
        {
            int ejected = balancer.GetStatus().Count(s => s.IsEjected);
            if (ejected != _ejected.Count)
            {
                throw new InvalidOperationException($"{benchmark}: {ejected} endpoints ejected, expected {_ejected.Count}.");
            }
        }

        // The pinned loads (1 per full endpoint) are all that may remain: every lease was released.
        foreach ((ConsistentHashBalancer balancer, Func<int, bool> pinned) in new (ConsistentHashBalancer, Func<int, bool>)[] { (_overflowing, i => i % 4 != 0), (_allFull, _ => true), (_bounded, _ => false) })
        {
            Endpoint[] endpoints = balancer.CurrentSnapshot.Endpoints;
            for (int i = 0; i < endpoints.Length; i++)
            {
                int expected = pinned(i) ? 1 : 0;
                if (balancer.InFlightOf(endpoints[i].Key) != expected)
                {
                    throw new InvalidOperationException($"{benchmark}: {endpoints[i]} holds {balancer.InFlightOf(endpoints[i].Key)} requests, expected {expected}.");
                }
            }
        }
    }

    // Counts one request on each chosen endpoint outside the balancer's total (see the class remarks).
    private static void Pin(ConsistentHashBalancer balancer, Func<int, bool> chosen)
    {
        Load.EndpointState[] states = balancer.CurrentSnapshot.States;
        for (int i = 0; i < states.Length; i++)
        {
            if (chosen(i))
            {
                _ = states[i].TryAdd(); // the endpoint's count only: the balancer total is reserved by placements
            }
        }
    }

    // Fails one lease on every endpoint to eject (ConsecutiveFailures = 1): a key whose home it is, acquired and failed.
    private void EjectThroughFailedLeases(ConsistentHashBalancer balancer)
    {
        foreach (Endpoint target in _ejected)
        {
            string key = Enumerable.Range(0, int.MaxValue).Select(i => $"eject-{i}").First(k => balancer.Pick(k).Equals(target));
            if (!balancer.TryAcquire(key, out EndpointLease lease) || !lease.Endpoint.Equals(target))
            {
                throw new InvalidOperationException($"Could not place a request on {target} to fail it.");
            }

            lease.Fail();
        }
    }

    private Endpoint? AcquireAndRelease(LoadBalancer balancer)
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            if (balancer.TryAcquire(keys[(start + i) & KeyPool.Mask], out EndpointLease lease))
            {
                picked = lease.Endpoint;
                lease.Dispose();
            }
        }

        return picked;
    }

    private static Endpoint? KeylessAcquireAndRelease(LoadBalancer balancer)
    {
        Endpoint? picked = null;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            if (balancer.TryAcquire(out EndpointLease lease))
            {
                picked = lease.Endpoint;
                lease.Dispose();
            }
        }

        return picked;
    }

    private int NextBatch()
    {
        int start = _cursor;
        _cursor = (start + PicksPerInvoke) & KeyPool.Mask;
        return start;
    }
}
