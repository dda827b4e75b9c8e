using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using LockFree.Balancing.Load;
using LockFree.Balancing.Yarp;
using LockFree.Balancing.Yarp.Policies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace LockFree.Balancing.Benchmarks.Yarp;

/// <summary>
/// Where a LockFree YARP pick's time goes, piece by piece, on the objects a real pick uses (the policies from
/// <c>AddReverseProxy().AddLockFreeLoadBalancing()</c>, their tables built by a first pick over N destinations, and
/// <see cref="DefaultHttpContext"/> requests carrying YARP's proxy feature): reading a request feature, marking a
/// request with its count and taking the mark back (<see cref="HeldLease"/>), the core's acquire and release for round
/// robin and power of two choices, the per-cluster <see cref="System.Runtime.CompilerServices.ConditionalWeakTable{TKey, TValue}"/>
/// lookup, the endpoint-state-to-destination lookup, the picks counter with the span check when nobody listens, and the
/// forwarder wrapper's count for a request its pick did not count. <see cref="YarpPolicyBenchmarks"/> measures whole
/// picks against YARP's own policies; these pieces explain its figures.
/// </summary>
public class YarpPickCostBenchmarks : ISmokeChecked
{
    private const int Requests = YarpPolicyBenchmarks.PicksPerInvoke;

    private ServiceProvider _services = null!;
    private LeaseReleasingForwarder _forwarder = null!;
    private LockFreeLoadBalancingPolicy _roundRobin = null!;
    private YarpBenchCluster _roundRobinCluster = null!;
    private YarpBenchCluster _powerOfTwoCluster = null!;
    private DestinationTable _roundRobinTable = null!;
    private DestinationTable _powerOfTwoTable = null!;
    private EndpointState[] _states = [];
    private DestinationTable.Entry[] _entries = [];
    private int _cursor;

    /// <summary>The number of available destinations.</summary>
    [Params(10, 1000)]
    public int N { get; set; } = 10;

    /// <summary>Builds the policies, two clusters, and their tables (one pick each).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _services = YarpBenchCluster.BuildProxyServices(out _forwarder, out ILoadBalancingPolicy[] registered);
        LockFreeLoadBalancingPolicy[] policies = [.. registered.OfType<LockFreeLoadBalancingPolicy>()];
        _roundRobin = policies.Single(p => p.Name == LockFreeLoadBalancingPolicies.RoundRobin);
        LockFreeLoadBalancingPolicy powerOfTwo = policies.Single(p => p.Name == LockFreeLoadBalancingPolicies.PowerOfTwoChoices);

        DestinationState[] destinations = YarpBenchCluster.Destinations(N);
        _roundRobinCluster = new YarpBenchCluster("rr", LockFreeLoadBalancingPolicies.RoundRobin, null, null, destinations);
        _powerOfTwoCluster = new YarpBenchCluster("p2c", LockFreeLoadBalancingPolicies.PowerOfTwoChoices, null, null, destinations);
        _powerOfTwoTable = FirstPick(powerOfTwo, _powerOfTwoCluster);
        _roundRobinTable = FirstPick(_roundRobin, _roundRobinCluster); // last: the thread's recent table, as after a pick

        // One state and entry per request slot (cycled over the N endpoints), so that each piece indexes with a mask.
        EndpointState[] all = _roundRobinTable.Core.CurrentSnapshot.States;
        _states = [.. Enumerable.Range(0, Requests).Select(i => all[i * 7919 % all.Length])];
        _entries = [.. _states.Select(s => _roundRobinTable.Entries[s])];
        for (int i = 0; i < Requests; i++)
        {
            // The destination YARP's forwarder middleware names; the wrapper's uncounted path looks it up.
            _roundRobinCluster.Features[i].ProxiedDestination = _entries[i].Destination;
        }
    }

    /// <summary>Baseline: one request feature read (<c>Features.Get&lt;IReverseProxyFeature&gt;()</c>, present).</summary>
    /// <returns>The feature's destination list size.</returns>
    [Benchmark(Baseline = true)]
    public int ReadRequestFeature()
        => _roundRobinCluster.Requests[_cursor++ & (Requests - 1)].Features.Get<IReverseProxyFeature>()!.AllDestinations.Count;

    /// <summary>Reading a feature the request does not carry (the wrapper's look for a held count on an uncounted request).</summary>
    /// <returns>1 when no count is held.</returns>
    [Benchmark]
    public int ReadAbsentFeature()
        => _roundRobinCluster.Requests[_cursor++ & (Requests - 1)].Features.Get<HeldLease>() is null ? 1 : 0;

    /// <summary>
    /// Carrying a count on the request: the pick's mark (<see cref="HeldLease.HoldOn"/>: a read for an earlier pick's
    /// count, a set) and the wrapper's take (a read, a set to null).
    /// </summary>
    /// <returns>1 when the count taken is the one marked.</returns>
    [Benchmark]
    public int MarkAndTakeCount()
    {
        int i = _cursor++ & (Requests - 1);
        HttpContext context = _roundRobinCluster.Requests[i];
        DestinationTable.Entry entry = _entries[i];
        entry.Lease.HoldOn(context);
        return ReferenceEquals(HeldLease.Take(context), entry.Lease.State) ? 1 : 0;
    }

    /// <summary>The core's round-robin acquire and release (as a counted pick would do; round robin counts in the wrapper).</summary>
    /// <returns>1 when an endpoint was acquired.</returns>
    [Benchmark]
    public int CoreRoundRobinAcquireRelease() => AcquireRelease(_roundRobinTable.Core);

    /// <summary>The core's power-of-two-choices acquire and release: two weighted draws, two counter reads, one compare-and-swap.</summary>
    /// <returns>1 when an endpoint was acquired.</returns>
    [Benchmark]
    public int CorePowerOfTwoAcquireRelease() => AcquireRelease(_powerOfTwoTable.Core);

    /// <summary>The per-cluster lookup a pick makes when the thread's last table is another cluster's (a <c>ConditionalWeakTable</c> read).</summary>
    /// <returns>1 when the cluster's state was found.</returns>
    [Benchmark]
    public int ClusterStateLookup() => _roundRobin.StateOf(_roundRobinCluster.State) is null ? 0 : 1;

    /// <summary>The destination of a core endpoint state (a counted pick's lookup: a dictionary keyed by reference).</summary>
    /// <returns>1 when the state has a destination.</returns>
    [Benchmark]
    public int DestinationOfState()
        => _roundRobinTable.Entries.TryGetValue(_states[_cursor++ & (Requests - 1)], out DestinationTable.Entry? entry) && entry is not null ? 1 : 0;

    /// <summary>The picks counter and the span check, nobody listening (one <c>Enabled</c> read, one <c>HasListeners</c> read).</summary>
    /// <returns>1 when no span was started.</returns>
    [Benchmark]
    public int CounterAndSpanCheckUnobserved()
    {
        Activity? span = PickSpan.Start(YarpTracing.Source);
        YarpMetrics.Shared.Picked(LockFreeLoadBalancingPolicies.RoundRobin, "rr", PickOutcome.Home);
        return span is null ? 1 : 0;
    }

    /// <summary>
    /// The forwarder wrapper on a request its pick did not count (round robin, unbounded hashing): no held count, the
    /// proxy feature's destination, its entry in the thread's last table, the count, and its release when the call
    /// returns.
    /// </summary>
    /// <returns>1 when the wrapper counted the request.</returns>
    [Benchmark]
    public int WrapperCountsUncountedRequest()
    {
        if (_forwarder.TakeCount(_roundRobinCluster.Requests[_cursor++ & (Requests - 1)]) is not EndpointState state)
        {
            return 0;
        }

        state.Release();
        return 1;
    }

    /// <inheritdoc />
    public void CheckResult(string benchmark, object? result)
    {
        if (result is not int value || value <= 0)
        {
            throw new InvalidOperationException($"{benchmark} returned {result}: the piece did not do its work.");
        }
    }

    /// <inheritdoc />
    public void CheckAfterCalls(string benchmark)
    {
        foreach (DestinationTable table in (DestinationTable[])[_roundRobinTable, _powerOfTwoTable])
        {
            if (table.Core.GetStatus().Sum(s => s.InFlight) != 0)
            {
                throw new InvalidOperationException($"{benchmark} left requests counted in flight.");
            }
        }
    }

    /// <summary>Disposes the container.</summary>
    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    private static int AcquireRelease(LoadBalancer core)
    {
        if (!core.TryAcquire(out EndpointLease lease) || lease.TakeState() is not EndpointState state)
        {
            return 0;
        }

        state.Release();
        return 1;
    }

    private static DestinationTable FirstPick(LockFreeLoadBalancingPolicy policy, YarpBenchCluster cluster)
    {
        DefaultHttpContext context = cluster.Requests[0];
        _ = policy.PickDestination(context, cluster.State, cluster.State.DestinationsState.AvailableDestinations);
        HeldLease.ReleaseFrom(context);
        return policy.StateOf(cluster.State)?.Current ?? throw new InvalidOperationException($"{policy.Name}: the first pick built no table.");
    }
}
