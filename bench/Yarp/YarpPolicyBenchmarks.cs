using BenchmarkDotNet.Attributes;
using LockFree.Balancing.Yarp;
using LockFree.Balancing.Yarp.Policies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace LockFree.Balancing.Benchmarks.Yarp;

/// <summary>
/// One pick per operation through YARP 2.3's <see cref="ILoadBalancingPolicy"/> interface, as its load-balancing
/// middleware calls it, over N destinations: YARP's own <c>PowerOfTwoChoices</c> (the baseline) and
/// <c>RoundRobin</c> (internal types, taken from YARP's DI registrations), and LockFree's policies. A LockFree pick
/// counts the request in flight and the operation also releases it, as the forwarder wrapper does when proxying ends;
/// YARP's policies count nothing at the pick (its forwarder middleware counts later), so theirs is pick only.
/// The keyed policies read an <c>x-user</c> header (64 distinct users, cycled).
/// </summary>
public class YarpPolicyBenchmarks : ISmokeChecked
{
    /// <summary>Picks per benchmark invocation (over 64 requests with distinct keys).</summary>
    public const int PicksPerInvoke = 64;

    private ServiceProvider _services = null!;
    private DefaultHttpContext[] _requests = null!;
    private ILoadBalancingPolicy _yarpPowerOfTwo = null!;
    private ILoadBalancingPolicy _yarpRoundRobin = null!;
    private ILoadBalancingPolicy _powerOfTwo = null!;
    private ILoadBalancingPolicy _roundRobin = null!;
    private ILoadBalancingPolicy _consistentHash = null!;
    private ILoadBalancingPolicy _maglev = null!;
    private ClusterState _plain = null!;
    private ClusterState _hashing = null!;
    private ClusterState _bounded = null!;
    private ClusterState _maglevCluster = null!;

    /// <summary>The number of available destinations.</summary>
    [Params(10, 100, 1000)]
    public int N { get; set; } = 10;

    /// <summary>Builds the policies from DI (<c>AddReverseProxy().AddLockFreeLoadBalancing()</c>) and the clusters.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddReverseProxy().AddLockFreeLoadBalancing();
        _services = services.BuildServiceProvider();
        ILoadBalancingPolicy[] policies = [.. _services.GetServices<ILoadBalancingPolicy>()];
        ILoadBalancingPolicy Named(string name) => policies.Single(p => p.Name == name);
        _yarpPowerOfTwo = Named(LoadBalancingPolicies.PowerOfTwoChoices);
        _yarpRoundRobin = Named(LoadBalancingPolicies.RoundRobin);
        _powerOfTwo = Named(LockFreeLoadBalancingPolicies.PowerOfTwoChoices);
        _roundRobin = Named(LockFreeLoadBalancingPolicies.RoundRobin);
        _consistentHash = Named(LockFreeLoadBalancingPolicies.ConsistentHash);
        _maglev = Named(LockFreeLoadBalancingPolicies.Maglev);

        DestinationState[] destinations = [.. Enumerable.Range(0, N).Select(i => new DestinationState(
            "d" + i,
            new DestinationModel(new DestinationConfig { Address = $"http://10.{i / 250}.{i % 250}.1:8080/" })))];
        _plain = Cluster("plain", null, null, destinations);
        _hashing = Cluster("hash", "header:x-user", null, destinations);
        _bounded = Cluster("bounded", "header:x-user", "1.25", destinations);
        _maglevCluster = Cluster("maglev", "header:x-user", null, destinations);
        _requests = [.. Enumerable.Range(0, PicksPerInvoke).Select(i =>
        {
            var context = new DefaultHttpContext();
            context.Request.Headers["x-user"] = "user-" + i;
            return context;
        })];

        // The first pick builds each LockFree table; the benchmark measures the steady state after it.
        Run(_powerOfTwo, _plain);
        Run(_roundRobin, _plain);
        Run(_consistentHash, _hashing);
        Run(_consistentHash, _bounded);
        Run(_maglev, _maglevCluster);
    }

    /// <summary>Baseline: YARP's <c>PowerOfTwoChoices</c> (two random destinations, the lower <c>ConcurrentRequestCount</c>).</summary>
    /// <returns>The last destination picked.</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = PicksPerInvoke)]
    public DestinationState YarpPowerOfTwoChoices() => Run(_yarpPowerOfTwo, _plain);

    /// <summary>YARP's <c>RoundRobin</c> (a per-cluster counter in a ConditionalWeakTable).</summary>
    /// <returns>The last destination picked.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public DestinationState YarpRoundRobin() => Run(_yarpRoundRobin, _plain);

    /// <summary><c>LockFreePowerOfTwoChoices</c>: pick, count in flight, release.</summary>
    /// <returns>The last destination picked.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public DestinationState LockFreePowerOfTwoChoices() => Run(_powerOfTwo, _plain);

    /// <summary><c>LockFreeRoundRobin</c> (weighted cycle): pick, count, release.</summary>
    /// <returns>The last destination picked.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public DestinationState LockFreeRoundRobin() => Run(_roundRobin, _plain);

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
        foreach (ClusterState cluster in (ClusterState[])[_plain, _hashing, _bounded, _maglevCluster])
        {
            foreach (LockFreeLoadBalancingPolicy policy in (ILoadBalancingPolicy[])[_powerOfTwo, _roundRobin, _consistentHash, _maglev])
            {
                if (policy.StateOf(cluster) is { Current: { } table } && table.Core.GetStatus().Sum(s => s.InFlight) != 0)
                {
                    throw new InvalidOperationException($"{benchmark}: {policy.Name} left requests counted in flight on cluster {cluster.ClusterId}.");
                }

                if (policy.StateOf(cluster) is { Rebuilds: > 1 } state)
                {
                    throw new InvalidOperationException($"{benchmark}: {policy.Name} rebuilt its table {state.Rebuilds} times over one unchanged list.");
                }
            }
        }
    }

    /// <summary>Disposes the container.</summary>
    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    private static ClusterState Cluster(string id, string? hashKey, string? loadFactor, DestinationState[] destinations)
    {
        var metadata = new Dictionary<string, string>();
        if (hashKey is not null)
        {
            metadata[LockFreeClusterMetadata.HashKey] = hashKey;
        }

        if (loadFactor is not null)
        {
            metadata[LockFreeClusterMetadata.LoadFactor] = loadFactor;
        }

        var config = new ClusterConfig { ClusterId = id, Metadata = metadata };
        var cluster = new ClusterState(id, new ClusterModel(config, new HttpMessageInvoker(new SocketsHttpHandler())));
        cluster.DestinationsState = new ClusterDestinationsState(destinations, destinations);
        return cluster;
    }

    private DestinationState Run(ILoadBalancingPolicy policy, ClusterState cluster)
    {
        IReadOnlyList<DestinationState> available = cluster.DestinationsState.AvailableDestinations;
        DestinationState picked = null!;
        DefaultHttpContext[] requests = _requests;
        for (int i = 0; i < requests.Length; i++)
        {
            picked = policy.PickDestination(requests[i], cluster, available)!;
            HeldLease.ReleaseFrom(requests[i]); // the forwarder wrapper's release; a no-op after YARP's own policies
        }

        return picked;
    }
}
