using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Grpc.Tests;

/// <summary>
/// The fake API server (namespace <c>shop</c>, Service <c>web</c>) plus real gRPC pods, one EndpointSlice per pod
/// (<c>web-{name}</c>, port <c>grpc</c> = the pod's port, address 127.0.0.1), and a watch registry on it (linger 0).
/// </summary>
public sealed class GrpcCluster : IAsyncDisposable
{
    public const string Target = "kubernetes:///web.shop:grpc";
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(20);
    public static readonly ServiceReference Web = ServiceReference.Parse("web.shop:grpc");

    private readonly List<ServiceProvider> _providers = [];
    private readonly List<GrpcChannel> _channels = [];
    private readonly X509Certificate2? _certificate;
    private int _resourceVersion = 100;
    private int _nextPod;

    private GrpcCluster(FakeApiServer server, List<Pod> pods, X509Certificate2? certificate)
    {
        Server = server;
        Pods = pods;
        _certificate = certificate;
        Registry = new KubernetesWatchRegistry(WatcherOptions(server), TimeSpan.Zero);
    }

    public FakeApiServer Server { get; }

    public List<Pod> Pods { get; }

    public KubernetesWatchRegistry Registry { get; }

    public WatchConnection? Watch { get; private set; }

    public static KubernetesWatcherOptions WatcherOptions(FakeApiServer server) => new()
    {
        ApiServer = server.BaseAddress,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(100),
        Random = new Random(1),
    };

    public static CancellationToken Limit() => new CancellationTokenSource(WaitLimit).Token;

    public static async Task<GrpcCluster> StartAsync(int podCount, X509Certificate2? certificate = null)
    {
        FakeApiServer server = await FakeApiServer.StartAsync();
        var pods = new List<Pod>();
        var cluster = new GrpcCluster(server, pods, certificate);
        for (int i = 0; i < podCount; i++)
        {
            pods.Add(await cluster.NewPodAsync());
        }

        server.SetList("100", [.. pods.Select(p => SliceOf(p))]);
        return cluster;
    }

    public async Task<Pod> NewPodAsync() => await Pod.StartAsync("p" + _nextPod++, _certificate);

    public static string SliceOf(Pod pod, bool ready = true, string zone = "zone-a")
        => Slice("web-" + pod.Name, "50", "IPv4", Ports("grpc", pod.Port),
            Endpoint("127.0.0.1", ready ? ReadyConditions : """{"ready":false,"serving":false,"terminating":false}""", zone: zone));

    /// <summary>Sends a watch event and waits until every subscriber has it (the watcher's version moved on).</summary>
    public async Task SendAsync(string type, string slice)
    {
        Watch ??= await Server.NextWatchAsync(WaitLimit);
        Assert.True(Registry.TryGetWatcher(Web, out KubernetesEndpointWatcher? watcher));
        long version = watcher.Status.Version;
        string rv = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
        Watch.Send(Event(type, slice.Replace("\"resourceVersion\":\"50\"", "\"resourceVersion\":\"" + rv + "\"", StringComparison.Ordinal)));
        await watcher.WaitForVersionAsync(version + 1, Limit());
    }

    public async Task<Pod> AddPodAsync()
    {
        Pod pod = await NewPodAsync();
        Pods.Add(pod);
        await SendAsync("ADDED", SliceOf(pod));
        return pod;
    }

    public Task RemovePodAsync(Pod pod) => SendAsync("DELETED", SliceOf(pod));

    public Task SetReadyAsync(Pod pod, bool ready) => SendAsync("MODIFIED", SliceOf(pod, ready));

    /// <summary>A container with this cluster's registry and the gRPC balancing registered.</summary>
    public ServiceProvider Services(Action<IServiceCollection>? more = null, Action<KubernetesGrpcBalancingOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(Registry);
        services.AddKubernetesGrpcBalancing(configure);
        more?.Invoke(services);
        ServiceProvider provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return provider;
    }

    public GrpcChannel Channel(ServiceConfig? config = null, bool tracking = true, string target = Target, IServiceProvider? services = null, ChannelCredentials? credentials = null, HttpMessageHandler? transport = null)
    {
        transport ??= new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        var channel = GrpcChannel.ForAddress(target, new GrpcChannelOptions
        {
            ServiceProvider = services ?? Services(),
            Credentials = credentials ?? ChannelCredentials.Insecure,
            ServiceConfig = config,
            HttpHandler = tracking ? new GrpcCallTrackingHandler(transport) : transport,
        });
        _channels.Add(channel);
        return channel;
    }

    public static ServiceConfig Config(string json, RetryPolicy? retry = null)
    {
        var config = new ServiceConfig { LoadBalancingConfigs = { LockFreeLoadBalancingConfig.Parse(json) } };
        if (retry is not null)
        {
            config.MethodConfigs.Add(new MethodConfig { Names = { MethodName.Default }, RetryPolicy = retry });
        }

        return config;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (GrpcChannel channel in _channels)
        {
            channel.Dispose();
        }

        foreach (ServiceProvider provider in _providers)
        {
            await provider.DisposeAsync();
        }

        await Registry.DisposeAsync();
        foreach (Pod pod in Pods)
        {
            await pod.DisposeAsync();
        }

        await Server.DisposeAsync();
    }
}
