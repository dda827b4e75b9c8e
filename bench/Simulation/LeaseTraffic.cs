using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>A balancer from <see cref="PickerSpec.Create"/>, kept current by its own <see cref="KubernetesEndpointWatcher"/>; requests sent by <see cref="LeaseTrafficClient"/>.</summary>
internal sealed class LeaseTraffic : IBalancedTraffic
{
    private readonly KubernetesEndpointWatcher _watcher;
    private readonly LeaseTrafficClient _client;

    /// <param name="byEndpoint">Name the server of each request by its endpoint, even when the pod says its name (see <see cref="HandlerTraffic"/>).</param>
    public LeaseTraffic(PickerSpec picker, ServiceReference service, KubernetesWatcherOptions options, WatchHooks hooks, string path = "/work", bool byEndpoint = false)
    {
        LoadBalancer balancer = picker.Create();
        Balancer = balancer;
        _watcher = new KubernetesEndpointWatcher(service, endpoints =>
        {
            hooks.Before();
            balancer.Update(endpoints);
            hooks.After(endpoints);
        }, options);
        _client = new LeaseTrafficClient(balancer, path, byEndpoint);
        _watcher.StartBackgroundSync();
    }

    public string Description => _client.Description;

    public LoadBalancer Balancer { get; }

    public ITrafficClient Client => _client;

    public KubernetesWatchStatus WatchStatus => _watcher.Status;

    public Task WaitForFirstSyncAsync(CancellationToken cancellationToken) => _watcher.WaitForVersionAsync(1, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _watcher.DisposeAsync().ConfigureAwait(false);
    }
}
