using System.Collections.Concurrent;
using System.Globalization;
using LockFree.Balancing.Kubernetes.Fakes;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// The simulated cluster: a <see cref="FakeCluster"/> API server holding the Service's EndpointSlices, and one
/// real Kestrel <see cref="BackendPod"/> per pod. Each pod gets its own slice, because every pod listens on its
/// own loopback ports and a slice carries one set of port numbers for all its endpoints (the EndpointSlice
/// controller splits pods whose named ports resolve to different numbers the same way). A slice names two ports,
/// <c>http</c> and <c>grpc</c>, as a Service with both would.
/// </summary>
internal sealed class EmbeddedCluster : IAsyncDisposable
{
    public const string Namespace = "shop";
    public const string ServiceName = "web";
    public const string PortName = "http";

    /// <summary>The Service's second port: each pod's gRPC server (<c>kubernetes:///web.shop:grpc</c>).</summary>
    public const string GrpcPortName = "grpc";

    private readonly FakeCluster _api;
    private readonly TimeSpan _serviceTime;
    private readonly List<BackendPod> _pods = [];
    private readonly List<BackendPod> _retired = [];
    private readonly ConcurrentDictionary<string, string> _podByEndpoint = new(StringComparer.Ordinal);
    private int _podCounter;

    private EmbeddedCluster(FakeCluster api, TimeSpan serviceTime)
    {
        _api = api;
        _serviceTime = serviceTime;
    }

    public FakeCluster Api => _api;

    /// <summary>Live pods (ready or not, not yet deleted), oldest first.</summary>
    public IReadOnlyList<BackendPod> Pods => _pods;

    /// <summary>Every pod ever started, deleted ones included.</summary>
    public IEnumerable<BackendPod> AllPods => _pods.Concat(_retired);

    /// <summary>The pod behind an endpoint key; safe from any thread.</summary>
    public string? PodNameOf(string endpointKey) => _podByEndpoint.GetValueOrDefault(endpointKey);

    public static async Task<EmbeddedCluster> StartAsync(int pods, TimeSpan serviceTime, CancellationToken cancellationToken)
    {
        FakeCluster api = await FakeCluster.StartAsync(Namespace, ServiceName).ConfigureAwait(false);
        var cluster = new EmbeddedCluster(api, serviceTime);
        for (int i = 0; i < pods; i++)
        {
            BackendPod pod = await cluster.StartPodAsync(cancellationToken).ConfigureAwait(false);
            cluster.SetConditions(pod, ready: true, serving: true, terminating: false);
        }

        return cluster;
    }

    /// <summary>Starts a new pod's server and publishes it not ready yet (a pod that is starting).</summary>
    public async Task<BackendPod> StartPodAsync(CancellationToken cancellationToken)
    {
        string name = string.Create(CultureInfo.InvariantCulture, $"web-{++_podCounter:D3}");
        BackendPod pod = await BackendPod.StartAsync(name, _serviceTime, cancellationToken).ConfigureAwait(false);
        _pods.Add(pod);
        _podByEndpoint[pod.EndpointKey] = pod.Name; // a reused port now belongs to the new pod
        _podByEndpoint[pod.GrpcEndpointKey] = pod.Name;
        SetConditions(pod, ready: false, serving: false, terminating: false);
        return pod;
    }

    /// <summary>The readiness probe passes.</summary>
    public void MarkReady(BackendPod pod) => SetConditions(pod, ready: true, serving: true, terminating: false);

    /// <summary>The readiness probe fails; the pod keeps running.</summary>
    public void MarkNotReady(BackendPod pod) => SetConditions(pod, ready: false, serving: false, terminating: false);

    /// <summary>The pod is being deleted: not ready, still serving, terminating (what the API shows during the grace period).</summary>
    public void Terminate(BackendPod pod) => SetConditions(pod, ready: false, serving: true, terminating: true);

    /// <summary>The pod is gone: its servers stop (requests in progress finish) and are released (their counters stay readable), and its slice is deleted.</summary>
    public async Task DeleteAsync(BackendPod pod)
    {
        _pods.Remove(pod);
        _retired.Add(pod);
        await pod.DisposeAsync().ConfigureAwait(false);
        _api.Delete(SliceName(pod));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (BackendPod pod in _pods.Concat(_retired))
        {
            await pod.DisposeAsync().ConfigureAwait(false);
        }

        await _api.DisposeAsync().ConfigureAwait(false);
    }

    private static string SliceName(BackendPod pod) => pod.Name + "-slice";

    private void SetConditions(BackendPod pod, bool ready, bool serving, bool terminating)
        => _api.Apply(new FakeSlice(
            SliceName(pod),
            pod.Port,
            [new FakeSliceEndpoint("127.0.0.1", pod.Name, ready, serving, terminating)],
            PortName)
        {
            MorePorts = [new(GrpcPortName, pod.GrpcPort)],
        });
}
