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
/// One pick per operation through YARP 2.3's <see cref="ILoadBalancingPolicy"/> interface, as its load-balancing
/// middleware calls it, over N destinations: YARP's own <c>PowerOfTwoChoices</c> (the baseline) and
/// <c>RoundRobin</c> (internal types, taken from YARP's DI registrations), and LockFree's policies. A LockFree
/// operation is everything LockFree adds to a proxied request: the pick, then the forwarder wrapper's count for the
/// call and its release (taken at the pick by power of two choices and bounded loads, by the wrapper for the others),
/// with the request's <see cref="IReverseProxyFeature"/> naming the picked destination as YARP's forwarder middleware
/// sets it. YARP's policies count nothing of their own (its forwarder middleware counts for every policy, ours too),
/// so theirs is the pick only. The keyed policies read an <c>x-user</c> header (64 distinct users, cycled).
/// </summary>
public class YarpPolicyBenchmarks : ISmokeChecked
{
    /// <summary>Picks per benchmark invocation (over 64 requests with distinct keys).</summary>
    public const int PicksPerInvoke = 64;

    private ServiceProvider _services = null!;
    private LeaseReleasingForwarder _forwarder = null!;
    private ILoadBalancingPolicy _yarpPowerOfTwo = null!;
    private ILoadBalancingPolicy _yarpRoundRobin = null!;
    private ILoadBalancingPolicy _powerOfTwo = null!;
    private ILoadBalancingPolicy _roundRobin = null!;
    private ILoadBalancingPolicy _consistentHash = null!;
    private ILoadBalancingPolicy _maglev = null!;
    private YarpBenchCluster _yarp = null!;
    private YarpBenchCluster _powerOfTwoCluster = null!;
    private YarpBenchCluster _roundRobinCluster = null!;
    private YarpBenchCluster _hashing = null!;
    private YarpBenchCluster _bounded = null!;
    private YarpBenchCluster _maglevCluster = null!;

    /// <summary>The number of available destinations.</summary>
    [Params(10, 100, 1000)]
    public int N { get; set; } = 10;

    /// <summary>Builds the policies from DI (<c>AddReverseProxy().AddLockFreeLoadBalancing()</c>) and the clusters.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _services = YarpBenchCluster.BuildProxyServices(out _forwarder, out ILoadBalancingPolicy[] policies);
        ILoadBalancingPolicy Named(string name) => policies.Single(p => p.Name == name);
        _yarpPowerOfTwo = Named(LoadBalancingPolicies.PowerOfTwoChoices);
        _yarpRoundRobin = Named(LoadBalancingPolicies.RoundRobin);
        _powerOfTwo = Named(LockFreeLoadBalancingPolicies.PowerOfTwoChoices);
        _roundRobin = Named(LockFreeLoadBalancingPolicies.RoundRobin);
        _consistentHash = Named(LockFreeLoadBalancingPolicies.ConsistentHash);
        _maglev = Named(LockFreeLoadBalancingPolicies.Maglev);

        DestinationState[] destinations = YarpBenchCluster.Destinations(N);
        _yarp = new YarpBenchCluster("yarp", LoadBalancingPolicies.PowerOfTwoChoices, null, null, destinations);
        _powerOfTwoCluster = new YarpBenchCluster("p2c", LockFreeLoadBalancingPolicies.PowerOfTwoChoices, null, null, destinations);
        _roundRobinCluster = new YarpBenchCluster("rr", LockFreeLoadBalancingPolicies.RoundRobin, null, null, destinations);
        _hashing = new YarpBenchCluster("hash", LockFreeLoadBalancingPolicies.ConsistentHash, "header:x-user", null, destinations);
        _bounded = new YarpBenchCluster("bounded", LockFreeLoadBalancingPolicies.ConsistentHash, "header:x-user", "1.25", destinations);
        _maglevCluster = new YarpBenchCluster("maglev", LockFreeLoadBalancingPolicies.Maglev, "header:x-user", null, destinations);

        // The first pick builds each LockFree table; the benchmark measures the steady state after it.
        Run(_powerOfTwo, _powerOfTwoCluster);
        Run(_roundRobin, _roundRobinCluster);
        Run(_consistentHash, _hashing);
        Run(_consistentHash, _bounded);
        Run(_maglev, _maglevCluster);
    }

    /// <summary>Baseline: YARP's <c>PowerOfTwoChoices</c> (two random destinations, the lower <c>ConcurrentRequestCount</c>).</summary>
    /// <returns>The last destination picked.</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = PicksPerInvoke)]
    public DestinationState YarpPowerOfTwoChoices() => PickOnly(_yarpPowerOfTwo, _yarp);

    /// <summary>YARP's <c>RoundRobin</c> (a per-cluster counter in a ConditionalWeakTable).</summary>
    /// <returns>The last destination picked.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public DestinationState YarpRoundRobin() => PickOnly(_yarpRoundRobin, _yarp);

    /// <summary><c>LockFreePowerOfTwoChoices</c>: pick (which counts the request in flight), the wrapper's take, release.</summary>
    /// <returns>The last destination picked.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public DestinationState LockFreePowerOfTwoChoices() => Run(_powerOfTwo, _powerOfTwoCluster);

    /// <summary><c>LockFreeRoundRobin</c> (weighted cycle): pick, the wrapper's count, release.</summary>
    /// <returns>The last destination picked.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public DestinationState LockFreeRoundRobin() => Run(_roundRobin, _roundRobinCluster);

    /// <summary><c>LockFreeConsistentHash</c>, key from the <c>x-user</c> header: read, hash, ring lookup, count, release.</summary>
    /// <returns>The last destination picked.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public DestinationState LockFreeConsistentHashHeader() => Run(_consistentHash, _hashing);

    /// <summary><c>LockFreeConsistentHash</c> with bounded loads (<c>LockFree.LoadFactor</c> 1.25), key from the header.</summary>
    /// <returns>The last destination picked.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public DestinationState LockFreeConsistentHashBoundedHeader() => Run(_consistentHash, _bounded);

    /// <summary><c>LockFreeMaglev</c>, key from the header.</summary>
    /// <returns>The last destination picked.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public DestinationState LockFreeMaglevHeader() => Run(_maglev, _maglevCluster);

    /// <inheritdoc />
    public void CheckResult(string benchmark, object? result)
    {
        if (result is not DestinationState destination || !destination.DestinationId.StartsWith('d'))
        {
            throw new InvalidOperationException($"{benchmark} returned {result}, not a destination.");
        }
    }

    /// <inheritdoc />
    public void CheckAfterCalls(string benchmark)
    {
        foreach (YarpBenchCluster cluster in (YarpBenchCluster[])[_powerOfTwoCluster, _roundRobinCluster, _hashing, _bounded, _maglevCluster])
        {
            foreach (LockFreeLoadBalancingPolicy policy in (ILoadBalancingPolicy[])[_powerOfTwo, _roundRobin, _consistentHash, _maglev])
            {
                if (policy.StateOf(cluster.State) is { Current: { } table } && table.Core.GetStatus().Sum(s => s.InFlight) != 0)
                {
                    throw new InvalidOperationException($"{benchmark}: {policy.Name} left requests counted in flight on cluster {cluster.State.ClusterId}.");
                }

                if (policy.StateOf(cluster.State) is { Rebuilds: > 1 } state)
                {
                    throw new InvalidOperationException($"{benchmark}: {policy.Name} rebuilt its table {state.Rebuilds} times over one unchanged list.");
                }
            }
        }
    }

    /// <summary>Disposes the container.</summary>
    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    private static DestinationState PickOnly(ILoadBalancingPolicy policy, YarpBenchCluster cluster)
    {
        IReadOnlyList<DestinationState> available = cluster.State.DestinationsState.AvailableDestinations;
        DestinationState picked = null!;
        DefaultHttpContext[] requests = cluster.Requests;
        for (int i = 0; i < requests.Length; i++)
        {
            picked = policy.PickDestination(requests[i], cluster.State, available)!;
        }

        return picked;
    }

    private DestinationState Run(ILoadBalancingPolicy policy, YarpBenchCluster cluster)
    {
        IReadOnlyList<DestinationState> available = cluster.State.DestinationsState.AvailableDestinations;
        DestinationState picked = null!;
        DefaultHttpContext[] requests = cluster.Requests;
        ProxyFeature[] features = cluster.Features;
        for (int i = 0; i < requests.Length; i++)
        {
            picked = policy.PickDestination(requests[i], cluster.State, available)!;

            // What YARP's forwarder middleware does next, then the wrapper's own work around the inner forwarder's call.
            features[i].ProxiedDestination = picked;
            EndpointState counted = _forwarder.TakeCount(requests[i]) ?? throw new InvalidOperationException($"{policy.Name}: the wrapper found no count for the request.");
            counted.Release();
        }

        return picked;
    }
}
