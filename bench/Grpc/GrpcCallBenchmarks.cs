using BenchmarkDotNet.Attributes;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using LockFree.Balancing.Benchmarks.Protos;
using LockFree.Balancing.Grpc;
using LockFree.Balancing.Grpc.RingHash;
using Microsoft.Extensions.DependencyInjection;
using GrpcLoadBalancerFactory = Grpc.Net.Client.Balancer.LoadBalancerFactory;

namespace LockFree.Balancing.Benchmarks.Grpc;

/// <summary>
/// A unary call on loopback to three Grpc.AspNetCore pods, through grpc-dotnet's <c>round_robin</c> (the baseline)
/// and through LockFree's policies, every channel on the same static resolver over the same pods. Each invocation
/// awaits <see cref="CallsPerInvoke"/> calls one after another, as an async caller makes them; figures are per call.
/// Every call carries the same <c>x-key</c> header (the hashing policies read it, the others ignore it). Target
/// (issue 13): at most +1 µs and +100 B per call against <c>round_robin</c>.
/// </summary>
public class GrpcCallBenchmarks : ISmokeChecked, IDisposable
{
    /// <summary>Calls per benchmark invocation.</summary>
    public const int CallsPerInvoke = 32;

    private const string KeyHeader = "x-key";
    private readonly List<GrpcBenchPod> _pods = [];
    private readonly List<GrpcChannel> _channels = [];
    private ServiceProvider? _services;
    private Echo.EchoClient _roundRobin = null!;
    private Echo.EchoClient _lockFreeRoundRobin = null!;
    private Echo.EchoClient _powerOfTwo = null!;
    private Echo.EchoClient _consistentHash = null!;
    private Echo.EchoClient _ringHash = null!;
    private readonly WhoRequest _request = new() { Key = "user-42" };
    private readonly Metadata _headers = new() { { KeyHeader, "user-42" } };

    /// <summary>Starts the pods and one connected channel per policy.</summary>
    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    /// <summary>Baseline: grpc-dotnet 2.85's <c>round_robin</c>.</summary>
    /// <returns>The pod of the last call.</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = CallsPerInvoke)]
    public Task<string> GrpcDotnetRoundRobin() => CallAsync(_roundRobin);

    /// <summary><c>lockfree_round_robin</c>.</summary>
    /// <returns>The pod of the last call.</returns>
    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public Task<string> LockFreeRoundRobin() => CallAsync(_lockFreeRoundRobin);

    /// <summary><c>lockfree_p2c</c>.</summary>
    /// <returns>The pod of the last call.</returns>
    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public Task<string> LockFreePowerOfTwoChoices() => CallAsync(_powerOfTwo);

    /// <summary><c>lockfree_consistent_hash</c> with bounded loads (<c>load_factor</c> 1.25), key from the header.</summary>
    /// <returns>The pod of the last call.</returns>
    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public Task<string> LockFreeConsistentHashBounded() => CallAsync(_consistentHash);

    /// <summary><c>ring_hash</c> (gRFC A42) with <c>requestHashHeader</c>.</summary>
    /// <returns>The pod of the last call.</returns>
    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public Task<string> RingHashA42() => CallAsync(_ringHash);

    /// <inheritdoc />
    public void CheckResult(string benchmark, object? result)
    {
        string? pod = result is Task<string> task ? task.GetAwaiter().GetResult() : null;
        if (pod is null || !_pods.Any(p => p.Name == pod))
        {
            throw new InvalidOperationException($"{benchmark} returned {pod ?? result}, not one of the pods.");
        }
    }

    /// <inheritdoc />
    public void CheckAfterCalls(string benchmark)
    {
    }

    /// <summary>Stops the channels and the pods.</summary>
    [GlobalCleanup]
    public void Cleanup() => Dispose();

    /// <summary>Stops the channels and the pods.</summary>
    public void Dispose()
    {
        foreach (GrpcChannel channel in _channels)
        {
            channel.Dispose();
        }

        _channels.Clear();
        foreach (GrpcBenchPod pod in _pods)
        {
            pod.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        _pods.Clear();
        _services?.Dispose();
        _services = null;
        GC.SuppressFinalize(this);
    }

    private async Task<string> CallAsync(Echo.EchoClient client)
    {
        string pod = "";
        for (int i = 0; i < CallsPerInvoke; i++)
        {
            WhoReply reply = await client.WhoAsync(_request, _headers).ConfigureAwait(false);
            pod = reply.Pod;
        }

        return pod;
    }

    private async Task SetupAsync()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        for (int i = 0; i < 3; i++)
        {
            _pods.Add(await GrpcBenchPod.StartAsync("pod-" + i, limit.Token).ConfigureAwait(false));
        }

        var services = new ServiceCollection();
        services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => [.. _pods.Select(p => new BalancerAddress("127.0.0.1", p.Port))]));
        foreach (string policy in (string[])[LockFreePolicyNames.RoundRobin, LockFreePolicyNames.PowerOfTwoChoices, LockFreePolicyNames.ConsistentHash])
        {
            services.AddSingleton<GrpcLoadBalancerFactory>(new LockFreeLoadBalancerFactory(policy));
        }

        services.AddSingleton<GrpcLoadBalancerFactory>(new RingHashLoadBalancerFactory());
        _services = services.BuildServiceProvider();

        _roundRobin = await ClientAsync(new RoundRobinConfig(), limit.Token).ConfigureAwait(false);
        _lockFreeRoundRobin = await ClientAsync(new LockFreeLoadBalancingConfig(LockFreePolicyNames.RoundRobin), limit.Token).ConfigureAwait(false);
        _powerOfTwo = await ClientAsync(new LockFreeLoadBalancingConfig(LockFreePolicyNames.PowerOfTwoChoices), limit.Token).ConfigureAwait(false);
        _consistentHash = await ClientAsync(new LockFreeLoadBalancingConfig(LockFreePolicyNames.ConsistentHash) { HashHeader = KeyHeader, LoadFactor = 1.25 }, limit.Token).ConfigureAwait(false);
        _ringHash = await ClientAsync(new RingHashOptions { RequestHashHeader = KeyHeader }.ToLoadBalancingConfig(), limit.Token).ConfigureAwait(false);
    }

    private async Task<Echo.EchoClient> ClientAsync(LoadBalancingConfig policy, CancellationToken cancellationToken)
    {
        GrpcChannel channel = GrpcChannel.ForAddress("static:///pods", new GrpcChannelOptions
        {
            Credentials = ChannelCredentials.Insecure,
            ServiceProvider = _services,
            ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { policy } },
        });
        _channels.Add(channel);
        var client = new Echo.EchoClient(channel);

        // Warm every pod's connection before measuring: enough calls that each policy has dialled all three.
        for (int i = 0; i < 30; i++)
        {
            await client.WhoAsync(new WhoRequest { Key = "warm-" + i }, new Metadata { { KeyHeader, "warm-" + i } }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return client;
    }
}
