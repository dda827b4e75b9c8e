using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using LockFree.Balancing.Grpc.RingHash;
using LockFree.Balancing.Grpc.Tests.Protos;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests.RingHash;

using LoadBalancerFactory = global::Grpc.Net.Client.Balancer.LoadBalancerFactory;

/// <summary>
/// Real grpc-dotnet channels over real Grpc.AspNetCore pods on loopback. The pods carry A76 hash keys
/// ("pod-0"…), so the Python reference predicts their ring although their ports are chosen at run time.
/// Every call has a deadline and the whole test a cancellation timeout; nothing sleeps.
/// </summary>
[Collection(nameof(AllocationMeasurement))]
public sealed class RingHashEndToEndTests : IAsyncLifetime, IDisposable
{
    private readonly List<Pod> _pods = [];
    private readonly List<IDisposable> _disposables = [];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));

    public async Task InitializeAsync()
    {
        foreach (var name in new[] { "pod-0", "pod-1", "pod-2" })
        {
            _pods.Add(await Pod.StartAsync(name));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            disposable.Dispose();
        }

        foreach (var pod in _pods)
        {
            await pod.DisposeAsync();
        }
    }

    public void Dispose() => _timeout.Dispose();

    [Fact]
    public async Task Call_SameHeader_SamePodEveryCallAsPythonPredicts()
    {
        var (client, _, _) = CreateClient(LiveAddresses());

        foreach (var key in VectorKeys("loopback-pods-live"))
        {
            for (var call = 0; call < 3; call++)
            {
                Assert.Equal(key.GetProperty("expected").GetString(), await WhoAsync(client, key.GetProperty("key").GetString()));
            }
        }
    }

    [Fact]
    public async Task Call_PodRefusesConnections_ItsKeysGoToNextDistinctEndpoint()
    {
        var dead = new BalancerAddress("127.0.0.1", Pod.ClosedPort());
        dead.Attributes.Set(RingHashAttributes.HashKey, "pod-dead");
        var (client, capture, _) = CreateClient([.. LiveAddresses(), dead]);

        var movedKeys = 0;
        foreach (var key in VectorKeys("loopback-pods"))
        {
            var expected = key.GetProperty("expected").GetString();
            if (expected == "pod-dead")
            {
                expected = key.GetProperty("nextDistinct").GetString();
                movedKeys++;
            }

            for (var call = 0; call < 2; call++)
            {
                Assert.Equal(expected, await WhoAsync(client, key.GetProperty("key").GetString()));
            }
        }

        Assert.True(movedKeys > 0, "the vectors must put some keys on the dead pod");
        Assert.Equal(ConnectivityState.Ready, capture.States[^1]);
    }

    [Fact]
    public async Task Pick_ReadyEndpoint_AllocatesNothing()
    {
        var (client, capture, _) = CreateClient(LiveAddresses());
        foreach (var key in VectorKeys("loopback-pods-live"))
        {
            await WhoAsync(client, key.GetProperty("key").GetString());
        }

        var picker = capture.LatestPicker!;
        using var request = new HttpRequestMessage();
        request.Headers.TryAddWithoutValidation("x-user", VectorKeys("loopback-pods-live").First().GetProperty("key").GetString());
        var context = new PickContext { Request = request };
        var first = picker.Pick(context);
        Assert.Equal(PickResultType.Complete, first.Type);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            if (!ReferenceEquals(first, picker.Pick(context)))
            {
                Assert.Fail("a READY key must get the same cached result every time");
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task Call_NoHeader_RandomHashServedByLivePods()
    {
        var (client, _, _) = CreateClient(LiveAddresses());

        for (var call = 0; call < 20; call++)
        {
            Assert.StartsWith("pod-", await WhoAsync(client, key: null), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Update_PodRemoved_KeysFollowNewRingAndSubchannelsReused()
    {
        var addresses = LiveAddresses();
        var (client, capture, resolver) = CreateClient(addresses);
        foreach (var key in VectorKeys("loopback-pods-live"))
        {
            Assert.Equal(key.GetProperty("expected").GetString(), await WhoAsync(client, key.GetProperty("key").GetString()));
        }

        Assert.Equal(3, capture.SubchannelsCreated);
        resolver.Push([addresses[0], addresses[1]]);

        // The rebuilt ring (A42 sizes it per endpoint count) is again the one the Python reference predicts.
        foreach (var key in VectorKeys("loopback-pods-live-without-pod-2"))
        {
            Assert.Equal(key.GetProperty("expected").GetString(), await WhoAsync(client, key.GetProperty("key").GetString()));
        }

        // pod-0 and pod-1 kept their subchannels (and connections) across the update.
        Assert.Equal(3, capture.SubchannelsCreated);
    }

    [Fact]
    public async Task States_NewPolicy_IdleUntilAPickThenReady()
    {
        var (client, capture, _) = CreateClient(LiveAddresses());
        await WhoAsync(client, "first");

        var states = capture.States;
        Assert.Equal(ConnectivityState.Idle, states[0]);
        Assert.Contains(ConnectivityState.Connecting, states);
        Assert.Equal(ConnectivityState.Ready, states[^1]);
    }

    [Fact]
    public async Task Call_AllPodsRefuse_FailsUnavailableAndReportsTransientFailure()
    {
        var (client, capture, _) = CreateClient([new BalancerAddress("127.0.0.1", Pod.ClosedPort()), new BalancerAddress("127.0.0.1", Pod.ClosedPort())]);

        var ex = await Assert.ThrowsAsync<RpcException>(() => WhoAsync(client, "alice"));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("ring_hash", ex.Status.Detail, StringComparison.Ordinal);
        // A42 rule 2: two endpoints in TRANSIENT_FAILURE and none READY.
        Assert.Equal(ConnectivityState.TransientFailure, capture.States[^1]);
    }

    [Fact]
    public async Task ConnectAsync_IdlePolicy_ConnectsOneEndpointAndBecomesReady()
    {
        var (client, capture, channel) = CreateChannel(LiveAddresses(), new RingHashOptions { RequestHashHeader = "x-user" });

        await channel.ConnectAsync(_timeout.Token);

        Assert.Equal(ConnectivityState.Ready, channel.State);
        Assert.Equal(ConnectivityState.Ready, capture.States[^1]);
        Assert.StartsWith("pod-", await WhoAsync(client, "bob"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_InvalidServiceConfig_FailsWithTheConfigError()
    {
        var (client, _, _) = CreateChannel(LiveAddresses(), new RingHashOptions { MinRingSize = 100, MaxRingSize = 10 }, validate: false);

        var ex = await Assert.ThrowsAsync<RpcException>(() => WhoAsync(client, "alice"));

        // grpc-dotnet has no config-parsing hook: the factory's typed error surfaces as the call's debug exception.
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        var configError = Assert.IsType<RingHashConfigurationException>(ex.Status.DebugException);
        Assert.Equal("minRingSize", configError.Field);
        Assert.Contains("minRingSize 100 is greater than maxRingSize 10", configError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_RacingResolverUpdates_NoDeadlockAndFinalRingAsPredicted()
    {
        var addresses = LiveAddresses();
        var (client, _, resolver) = CreateClient(addresses);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_timeout.Token);
        var unexpected = new List<Exception>();

        async Task CallLoopAsync(int worker)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    await WhoAsync(client, "racer-" + worker + "-" + (i % 17));
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Cancelled)
                {
                    // A call on a subchannel the update just shut down may fail; the next one re-picks.
                }
                catch (Exception ex)
                {
                    lock (unexpected)
                    {
                        unexpected.Add(ex);
                    }
                }
            }
        }

        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(() => CallLoopAsync(w))).ToArray();
        for (var round = 0; round < 30; round++)
        {
            resolver.Push(round % 2 == 0 ? [addresses[0], addresses[1]] : [addresses[2], addresses[0]]);
            await WhoAsync(client, "between-updates");
        }

        resolver.Push(addresses);
        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(20), _timeout.Token);

        Assert.Empty(unexpected);
        foreach (var key in VectorKeys("loopback-pods-live"))
        {
            Assert.Equal(key.GetProperty("expected").GetString(), await WhoAsync(client, key.GetProperty("key").GetString()));
        }
    }

    private static JsonElement[] VectorKeys(string caseName) =>
        [.. RingHashVectors.Case(caseName).GetProperty("configs")[0].GetProperty("keys").EnumerateArray()];

    private BalancerAddress[] LiveAddresses() => [.. _pods.Select(p =>
    {
        var address = new BalancerAddress("127.0.0.1", p.Port);
        address.Attributes.Set(RingHashAttributes.HashKey, p.Name);
        return address;
    })];

    private (Echo.EchoClient Client, CapturingLoadBalancerFactory Capture, PushResolverFactory Resolver) CreateClient(IReadOnlyList<BalancerAddress> addresses)
    {
        var (client, capture, _, resolver) = Create(addresses, new RingHashOptions { RequestHashHeader = "x-user" }, validate: true);
        return (client, capture, resolver);
    }

    private (Echo.EchoClient Client, CapturingLoadBalancerFactory Capture, GrpcChannel Channel) CreateChannel(IReadOnlyList<BalancerAddress> addresses, RingHashOptions options, bool validate = true)
    {
        var (client, capture, channel, _) = Create(addresses, options, validate);
        return (client, capture, channel);
    }

    private (Echo.EchoClient Client, CapturingLoadBalancerFactory Capture, GrpcChannel Channel, PushResolverFactory Resolver) Create(IReadOnlyList<BalancerAddress> addresses, RingHashOptions options, bool validate)
    {
        LoadBalancingConfig config;
        if (validate)
        {
            config = options.ToLoadBalancingConfig();
        }
        else
        {
            config = new LoadBalancingConfig("ring_hash");
            config.Inner["ring_hash"] = new Dictionary<string, object> { ["minRingSize"] = options.MinRingSize, ["maxRingSize"] = options.MaxRingSize };
        }

        var resolver = new PushResolverFactory(addresses);
        var capture = new CapturingLoadBalancerFactory(new RingHashLoadBalancerFactory());
        var services = new ServiceCollection()
            .AddSingleton<ResolverFactory>(resolver)
            .AddSingleton<LoadBalancerFactory>(capture)
            .BuildServiceProvider();
        var channel = GrpcChannel.ForAddress("push:///pods", new GrpcChannelOptions
        {
            Credentials = ChannelCredentials.Insecure,
            ServiceProvider = services,
            ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { config } },
        });
        _disposables.Insert(0, services);
        _disposables.Insert(0, channel);
        return (new Echo.EchoClient(channel), capture, channel, resolver);
    }

    private async Task<string> WhoAsync(Echo.EchoClient client, string? key)
    {
        var headers = key is null ? null : new Metadata { { "x-user", key } };
        var reply = await client.WhoAsync(new WhoRequest { Key = key ?? "" }, headers, DateTime.UtcNow.AddSeconds(10), _timeout.Token);
        return reply.Pod;
    }
}
