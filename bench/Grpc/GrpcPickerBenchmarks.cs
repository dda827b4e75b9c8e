using System.Reflection;
using BenchmarkDotNet.Attributes;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using LockFree.Balancing.Grpc;
using LockFree.Balancing.Grpc.RingHash;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using GrpcLoadBalancer = Grpc.Net.Client.Balancer.LoadBalancer;
using GrpcLoadBalancerFactory = Grpc.Net.Client.Balancer.LoadBalancerFactory;
using GrpcLoadBalancerOptions = Grpc.Net.Client.Balancer.LoadBalancerOptions;

namespace LockFree.Balancing.Benchmarks.Grpc;

/// <summary>
/// One <see cref="SubchannelPicker.Pick"/> over the same N subchannels of a real grpc-dotnet channel (created by its
/// own connection manager, never connected: a picker does not look at connections), for grpc-dotnet's own
/// round-robin picker (the baseline, internal: built by reflection with the arguments its balancer passes) and every
/// LockFree policy's picker built by the policy itself. Target (issue 13): our consistent-hash pick no slower than
/// their round robin's, 0 B.
/// </summary>
/// <remarks>
/// Keyed picks read the key from a request header, as a keyed gRPC call does, after the headers grpc-dotnet puts
/// first: <see cref="PicksPerInvoke"/> prepared requests with distinct <c>x-key</c> values are cycled, so the ring lookups vary. Unkeyed pickers get the same
/// requests (they ignore the header).
/// </remarks>
public class GrpcPickerBenchmarks : ISmokeChecked, IDisposable
{
    /// <summary>Picks per benchmark call.</summary>
    public const int PicksPerInvoke = 64;

    private const string KeyHeader = "x-key";
    private const int Contexts = 1024;

    // One completion for every call: grpc-dotnet allocates its own per call, which is not the picker's cost.
    private static readonly CompletionContext Completed = new();

    private ServiceProvider? _services;
    private GrpcChannel? _channel;
    private CapturingFactory _capture = null!;
    private Subchannel[] _subchannels = [];
    private PickContext[] _contexts = [];
    private int _cursor;
    private readonly List<GrpcLoadBalancer> _policies = [];
    private SubchannelPicker _theirRoundRobin = null!;
    private SubchannelPicker _roundRobin = null!;
    private SubchannelPicker _powerOfTwo = null!;
    private SubchannelPicker _consistentHash = null!;
    private SubchannelPicker _bounded = null!;
    private SubchannelPicker _maglev = null!;
    private SubchannelPicker _ringHash = null!;

    /// <summary>Subchannels in the set.</summary>
    [Params(10, 100, 1000)]
    public int N { get; set; }

    /// <summary>Creates the channel, its N subchannels and every picker over them.</summary>
    [GlobalSetup]
    public void Setup()
    {
        // Step 1 – a real channel whose policy only records its controller (grpc-dotnet's connection manager).
        _capture = new CapturingFactory();
        var services = new ServiceCollection();
        services.AddSingleton<GrpcLoadBalancerFactory>(_capture);
        services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => [new BalancerAddress("127.0.0.1", 1)]));
        _services = services.BuildServiceProvider();
        _channel = GrpcChannel.ForAddress("static:///bench", new GrpcChannelOptions
        {
            Credentials = ChannelCredentials.Insecure,
            ServiceProvider = _services,
            ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new LoadBalancingConfig(CapturingFactory.PolicyName) } },
        });
        _ = _channel.ConnectAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token).ContinueWith(static _ => { }, TaskScheduler.Default);
        IChannelControlHelper controller = _capture.Controller.Task.WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();

        // Step 2 – N subchannels, one per address (10.x.y.z:8080, never dialled).
        _subchannels = new Subchannel[N];
        for (int i = 0; i < N; i++)
        {
            var address = new BalancerAddress($"10.{1 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}", 8080);
            _subchannels[i] = controller.CreateSubchannel(new SubchannelOptions([address]));
        }

        // Step 3 – the pickers. grpc-dotnet's RoundRobinBalancer builds `new RoundRobinPicker(ready, random start)`.
        Type theirs = typeof(RoundRobinBalancerFactory).Assembly.GetType("Grpc.Net.Client.Balancer.RoundRobinPicker", throwOnError: true)!;
        _theirRoundRobin = (SubchannelPicker)Activator.CreateInstance(theirs, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, null, [(IReadOnlyList<Subchannel>)_subchannels, 0L], null)!;
        _roundRobin = Ours(controller, new LockFreeLoadBalancingConfig(LockFreePolicyNames.RoundRobin));
        _powerOfTwo = Ours(controller, new LockFreeLoadBalancingConfig(LockFreePolicyNames.PowerOfTwoChoices));
        _consistentHash = Ours(controller, new LockFreeLoadBalancingConfig(LockFreePolicyNames.ConsistentHash) { HashHeader = KeyHeader });
        _bounded = Ours(controller, new LockFreeLoadBalancingConfig(LockFreePolicyNames.ConsistentHash) { HashHeader = KeyHeader, LoadFactor = 1.25 });
        _maglev = Ours(controller, new LockFreeLoadBalancingConfig(LockFreePolicyNames.Maglev) { HashHeader = KeyHeader });
        _ringHash = RingHash();

        _contexts = new PickContext[Contexts];
        for (int i = 0; i < Contexts; i++)
        {
            // Shaped like grpc-dotnet's: its user-agent, te and grpc-accept-encoding headers, then the call's metadata.
            var request = new HttpRequestMessage(HttpMethod.Post, "http://bench/echo.Echo/Who");
            request.Headers.TryAddWithoutValidation("user-agent", "grpc-dotnet/2.85.0 (.NET 10.0.0; CLR 10.0.0; net10.0; linux; x64)");
            request.Headers.TryAddWithoutValidation("te", "trailers");
            request.Headers.TryAddWithoutValidation("grpc-accept-encoding", "identity,gzip,deflate");
            request.Headers.TryAddWithoutValidation(KeyHeader, "user-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            _contexts[i] = new PickContext { Request = request };
        }
    }

    /// <summary>Baseline: grpc-dotnet 2.85's own round-robin picker.</summary>
    /// <returns>The last pick.</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = PicksPerInvoke)]
    public PickResult GrpcDotnetRoundRobin() => Run(_theirRoundRobin);

    /// <summary><c>lockfree_round_robin</c>.</summary>
    /// <returns>The last pick.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public PickResult LockFreeRoundRobin() => Run(_roundRobin);

    /// <summary>
    /// <c>lockfree_p2c</c> (in flight). Its pick places the call and keeps a reservation for the call's tracker, as a
    /// bounded pick does, so each pick's call is started and completed too: picked without them, the counts only grew,
    /// and every pick compared endpoints with millions of calls in flight.
    /// </summary>
    /// <returns>The last pick.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public PickResult LockFreePowerOfTwoChoices() => RunAndComplete(_powerOfTwo);

    /// <summary><c>lockfree_consistent_hash</c>, key from the header.</summary>
    /// <returns>The last pick.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public PickResult LockFreeConsistentHash() => Run(_consistentHash);

    /// <summary><c>lockfree_consistent_hash</c> with <c>load_factor</c> 1.25 (the placement's reservation is kept for the call's tracker).</summary>
    /// <returns>The last pick.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public PickResult LockFreeConsistentHashBounded() => RunAndComplete(_bounded);

    /// <summary><c>lockfree_maglev</c>, key from the header.</summary>
    /// <returns>The last pick.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public PickResult LockFreeMaglev() => Run(_maglev);

    /// <summary><c>ring_hash</c> (gRFC A42), <c>requestHashHeader</c> = the key header, every endpoint READY.</summary>
    /// <returns>The last pick.</returns>
    [Benchmark(OperationsPerInvoke = PicksPerInvoke)]
    public PickResult RingHashA42() => Run(_ringHash);

    /// <inheritdoc />
    public void CheckResult(string benchmark, object? result)
    {
        if (result is not PickResult { Type: PickResultType.Complete, Subchannel: { } subchannel } || Array.IndexOf(_subchannels, subchannel) < 0)
        {
            throw new InvalidOperationException($"{benchmark} returned {result}, not one of the {N} subchannels.");
        }
    }

    /// <inheritdoc />
    public void CheckAfterCalls(string benchmark)
    {
    }

    /// <summary>Disposes the channel and the container.</summary>
    public void Dispose()
    {
        foreach (GrpcLoadBalancer policy in _policies)
        {
            policy.Dispose();
        }

        _channel?.Dispose();
        _services?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what <see cref="Setup"/> made.</summary>
    [GlobalCleanup]
    public void Cleanup() => Dispose();

    private PickResult Run(SubchannelPicker picker)
    {
        PickContext[] contexts = _contexts;
        int cursor = _cursor;
        PickResult last = null!;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            last = picker.Pick(contexts[(cursor + i) & (Contexts - 1)]);
        }

        _cursor = cursor + PicksPerInvoke;
        return last;
    }

    // A pick that counts (P2C, bounded) keeps its reservation for the call's tracker: start and complete the call as
    // grpc-dotnet does, so the counts return to 0 and every pick sees the same load.
    private PickResult RunAndComplete(SubchannelPicker picker)
    {
        PickContext[] contexts = _contexts;
        int cursor = _cursor;
        PickResult last = null!;
        for (int i = 0; i < PicksPerInvoke; i++)
        {
            last = picker.Pick(contexts[(cursor + i) & (Contexts - 1)]);
            last.SubchannelCallTracker?.Start();
            last.SubchannelCallTracker?.Complete(Completed);
        }

        _cursor = cursor + PicksPerInvoke;
        return last;
    }

    private SubchannelPicker Ours(IChannelControlHelper controller, LoadBalancingConfig config)
    {
        var factory = new LockFreeLoadBalancerFactory(config.PolicyName);
        GrpcLoadBalancer policy = factory.Create(new GrpcLoadBalancerOptions(controller, NullLoggerFactory.Instance, (IDictionary<string, object>)config.Inner[config.PolicyName]));
        _policies.Add(policy);
        // The policy builds its picker from the ready subchannels (SubchannelsLoadBalancer.CreatePicker, protected).
        MethodInfo create = typeof(SubchannelsLoadBalancer).GetMethod("CreatePicker", BindingFlags.Instance | BindingFlags.NonPublic)!;
        return (SubchannelPicker)create.Invoke(policy, [(IReadOnlyList<Subchannel>)_subchannels])!;
    }

    private RingHashPicker RingHash()
    {
        var endpoints = new List<RingHashEndpoint>(N);
        foreach (Subchannel subchannel in _subchannels)
        {
            BalancerAddress address = subchannel.GetAddresses()[0];
            endpoints.Add(new RingHashEndpoint($"{address.EndPoint.Host}:{address.EndPoint.Port}", subchannel)
            {
                State = ConnectivityState.Ready,
                RawState = ConnectivityState.Ready,
            });
        }

        var options = new RingHashOptions();
        RingHashRing ring = RingHashRing.Build([.. endpoints.Select(e => e.HashKey)], [.. endpoints.Select(e => e.Weight)], options.EffectiveMinRingSize, options.EffectiveMaxRingSize);
        return new RingHashPicker(ring, endpoints, KeyHeader, Random.Shared);
    }

    /// <summary>A policy that only hands its controller to the benchmark.</summary>
    private sealed class CapturingFactory : GrpcLoadBalancerFactory
    {
        public const string PolicyName = "lockfree_bench_capture";

        public TaskCompletionSource<IChannelControlHelper> Controller { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override string Name => PolicyName;

        public override GrpcLoadBalancer Create(GrpcLoadBalancerOptions options)
        {
            Controller.TrySetResult(options.Controller);
            return new Idle();
        }

        private sealed class Idle : GrpcLoadBalancer
        {
            public override void UpdateChannelState(ChannelState state)
            {
            }

            public override void RequestConnection()
            {
            }
        }
    }
}
