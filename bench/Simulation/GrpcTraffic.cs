using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using LockFree.Balancing.Benchmarks.Protos;
using LockFree.Balancing.Grpc;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.DependencyInjection;
using GrpcLoadBalancerFactory = Grpc.Net.Client.Balancer.LoadBalancerFactory;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// The library's gRPC integration as a service would use it: <c>AddKubernetesGrpcBalancing()</c> on a container
/// holding a <see cref="KubernetesWatchRegistry"/>, one <see cref="GrpcChannel"/> to
/// <c>kubernetes:///web.shop:grpc</c> with the policy's <c>loadBalancingConfig</c>, a retry policy for
/// <c>Unavailable</c> (as a real service's config would have) and a plain <see cref="SocketsHttpHandler"/> (no
/// <see cref="GrpcCallTrackingHandler"/>: it is for streams, see the constructor). Calls are unary <c>Echo.Who</c> with the key in the <c>x-user</c> metadata for keyed policies.
/// </summary>
/// <remarks>
/// As in <see cref="HandlerTraffic"/>, the simulation's hooks subscribe to the shared watch once before the
/// resolver (here) and once after it (in <see cref="WaitForFirstSyncAsync"/>, once the channel connected and so
/// started its resolver): the registry delivers to subscribers in order, and the resolver hands each set to the
/// channel's policy synchronously, so the "after" timestamp is never earlier than the picker rebuilt on it.
/// </remarks>
internal sealed class GrpcTraffic : IBalancedTraffic
{
    /// <summary>
    /// The service config's retry policy: what a real service declares for idempotent calls. A call the picker
    /// placed on a pod whose connection the pod is closing (GOAWAY after it stopped) fails with <c>Unavailable</c>
    /// and is retried on a new pick.
    /// </summary>
    public static readonly RetryPolicy Retry = new()
    {
        MaxAttempts = 5,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(100),
        BackoffMultiplier = 2,
        RetryableStatusCodes = { StatusCode.Unavailable },
    };

    private readonly PickerSpec _picker;
    private readonly ServiceReference _service;
    private readonly WatchHooks _hooks;
    private readonly KubernetesWatchRegistry _registry;
    private readonly WatchSubscription _before;
    private readonly ServiceProvider _services;
    private readonly GrpcChannel _channel;
    private readonly GrpcClient _client;
    private WatchSubscription? _after;

    public GrpcTraffic(PickerSpec picker, ServiceReference service, KubernetesWatcherOptions options, WatchHooks hooks)
    {
        _picker = picker;
        _service = service;
        _hooks = hooks;
        _registry = new KubernetesWatchRegistry(options, linger: TimeSpan.Zero);
        _before = _registry.Subscribe(service, _ => hooks.Before());
        var services = new ServiceCollection();
        services.AddSingleton(_registry);
        services.AddKubernetesGrpcBalancing();
        _services = services.BuildServiceProvider();
        var config = new ServiceConfig
        {
            LoadBalancingConfigs = { picker.GrpcConfig!() },
            MethodConfigs = { new MethodConfig { Names = { MethodName.Default }, RetryPolicy = Retry } },
        };
        _channel = GrpcChannel.ForAddress($"kubernetes:///{service.Name}.{service.Namespace}:{service.PortName}", new GrpcChannelOptions
        {
            ServiceProvider = _services,
            Credentials = ChannelCredentials.Insecure,
            ServiceConfig = config,
            // No GrpcCallTrackingHandler: the calls are unary, which the policy counts from the pick to the
            // response headers without it. With it, a unary call's hold was measured to outlive the caller's await
            // now and then (released when grpc-dotnet disposes the response, after the result is delivered), so
            // the client's next call was placed with the total one too high and the cap ⌈c · clients / N⌉ was
            // exceeded by one in about half of the smoke runs (the policy's own ⌈c · (total + 1) / N⌉ still held).
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                ConnectTimeout = TimeSpan.FromSeconds(2),
            },
        });
        _client = new GrpcClient(new Echo.EchoClient(_channel), _channel);
    }

    public string Description => "a `GrpcChannel` on `kubernetes:///web.shop:grpc` (`AddKubernetesGrpcBalancing`, no `GrpcCallTrackingHandler`: unary calls only), unary `Echo.Who` calls, the key in `x-user` metadata for keyed policies, a retry policy for `Unavailable` (up to 5 attempts, 10–100 ms backoff)";

    /// <summary>The core balancer of the channel's <c>lockfree_*</c> policy, once synced; <see langword="null"/> for <c>ring_hash</c>.</summary>
    public LoadBalancer? Balancer { get; private set; }

    public ITrafficClient Client => _client;

    public KubernetesWatchStatus WatchStatus
        => _registry.TryGetWatcher(_service, out KubernetesEndpointWatcher? watcher) ? watcher.Status : throw new InvalidOperationException("no watch for " + _service);

    public async Task WaitForFirstSyncAsync(CancellationToken cancellationToken)
    {
        // Connecting starts the resolver (its subscription comes after the "before" hook's) and waits for a ready subchannel.
        await _channel.ConnectAsync(cancellationToken).ConfigureAwait(false);
        _after = _registry.Subscribe(_service, _hooks.After);
        if (_picker.HasCore)
        {
            string policy = _picker.GrpcConfig!().PolicyName;
            IReadOnlyList<LockFreeSubchannelsBalancer> instances = _services.GetServices<GrpcLoadBalancerFactory>()
                .OfType<LockFreeLoadBalancerFactory>()
                .Single(f => f.Name == policy)
                .Instances;
            Balancer = instances.Count > 0 ? instances[^1].Core : throw new SimulationException($"the channel created no {policy} policy");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        _after?.Dispose();
        await _services.DisposeAsync().ConfigureAwait(false);
        _before.Dispose();
        await _registry.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class GrpcClient(Echo.EchoClient echo, GrpcChannel channel) : ITrafficClient
    {
        public string Description => "grpc";

        public async Task<string> SendAsync(string? key, CancellationToken cancellationToken)
        {
            Metadata? headers = key is null ? null : new Metadata { { PickerSpec.GrpcHashHeader, key } };
            try
            {
                WhoReply reply = await echo.WhoAsync(new WhoRequest { Key = key ?? "" }, headers, DateTime.UtcNow.AddSeconds(10), cancellationToken).ConfigureAwait(false);
                return reply.Pod;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                // The run stopping, not a failed call (the traffic driver ends on an OperationCanceledException).
                throw new OperationCanceledException("the run stopped", ex, cancellationToken);
            }
        }

        public void Dispose() => channel.Dispose();
    }
}
