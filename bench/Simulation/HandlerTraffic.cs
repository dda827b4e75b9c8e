using System.Net;
using LockFree.Balancing.Http;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// The library's HTTP integration as a service would use it: a <see cref="KubernetesWatchRegistry"/> (one watch
/// per Service), <see cref="KubernetesBalancing"/> with the picker's options, and an <see cref="HttpClient"/> over
/// its handler. Requests name the Service (<c>http://web.shop/work</c>); the handler picks the pod, sends through
/// that pod's own connection pool (the default transport), keeps the lease until the response ends, and retries a
/// refused connection once for a GET.
/// </summary>
/// <remarks>
/// The simulation's hooks subscribe to the same shared watch, one before and one after the handler's own
/// subscription, so the registry (which delivers to subscribers in order) brackets the handler's balancer
/// update with them: "seen" timestamps are never earlier than the handler's picks could see the change.
/// </remarks>
internal sealed class HandlerTraffic : IBalancedTraffic
{
    /// <summary>The request header the handler reads the affinity key from.</summary>
    public const string AffinityHeader = "x-user";

    /// <summary>A response header added on the client side: the endpoint the balancing handler sent the request to.</summary>
    private const string SentToHeader = "x-lockfree-sent-to";

    private readonly KubernetesWatchRegistry _registry;
    private readonly WatchSubscription _before;
    private readonly KubernetesBalancing _balancing;
    private readonly WatchSubscription _after;
    private readonly ServiceTarget _target;
    private readonly HandlerClient _client;

    /// <param name="byEndpoint">Name the server of each request by the endpoint it was sent to, even when the pod says its name (a real cluster's pods do not, so affinity is measured by endpoint there).</param>
    public HandlerTraffic(PickerSpec picker, ServiceReference service, KubernetesWatcherOptions options, WatchHooks hooks, string path = "/work", bool byEndpoint = false)
    {
        _registry = new KubernetesWatchRegistry(options, linger: TimeSpan.Zero);
        _before = _registry.Subscribe(service, _ => hooks.Before());
        var balancing = new KubernetesBalancingOptions
        {
            Service = service.ToString(),
            Picker = picker.Keyed ? BalancingPicker.PowerOfTwoChoices : picker.HandlerPicker,
            AffinityPicker = picker.Keyed ? picker.HandlerPicker : BalancingPicker.ConsistentHash,
            AffinityHeader = picker.Keyed ? AffinityHeader : null,
            LoadFactor = picker.LoadFactor,
            ConfigurePodHandler = pod =>
            {
                pod.ConnectTimeout = TimeSpan.FromSeconds(2);
                pod.AutomaticDecompression = DecompressionMethods.None;
            },
        };

        // The pods' handlers are the library's own, each behind a recorder of the pod it belongs to.
        _balancing = new KubernetesBalancing(
            _registry,
            new BalancingSettings(balancing, name: string.Empty)
            {
                PodHandlerFactory = pod => new SentToRecorder(pod.Key, PodHandlers.CreateSocketsHandler(pod, balancing.ConfigurePodHandler)),
            },
            loggerFactory: null);
        var address = new Uri($"http://{service.Name}.{service.Namespace}{path}");

        // Resolving the address creates the handler's balancers and their subscription, between the two hooks.
        _target = _balancing.Resolve(address);
        _after = _registry.Subscribe(service, hooks.After);
        Balancer = _target.Service.AffinityBalancer ?? _target.Service.Balancer;
        _client = new HandlerClient(new HttpClient(_balancing.CreateHandler())
        {
            Timeout = TimeSpan.FromSeconds(10),
        }, address, byEndpoint);
    }

    public string Description => "the library's HTTP handler (`KubernetesBalancing.CreateHandler`: pick, the pod's own connection pool, lease until the response ends, one retry of a refused GET)";

    public LoadBalancer Balancer { get; }

    public ITrafficClient Client => _client;

    public KubernetesWatchStatus WatchStatus => _target.Service.Watcher.Status;

    public async Task WaitForFirstSyncAsync(CancellationToken cancellationToken)
        => await _balancing.WaitForEndpointsAsync(_client.Address, cancellationToken).ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        _after.Dispose();
        _balancing.Dispose();
        _before.Dispose();
        await _registry.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class HandlerClient(HttpClient http, Uri address, bool byEndpoint) : ITrafficClient
    {
        public Uri Address { get; } = address;

        public string Description => "handler";

        public async Task<string> SendAsync(string? key, CancellationToken cancellationToken)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Address);
            if (key is not null)
            {
                request.Headers.TryAddWithoutValidation(AffinityHeader, key);
            }

            using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();

            // The pod's own name when it says it (the embedded pods do) and names are wanted; otherwise the endpoint
            // the handler sent to.
            return (!byEndpoint && response.Headers.TryGetValues(BackendPod.ServedByHeader, out IEnumerable<string>? values))
                || response.Headers.TryGetValues(SentToHeader, out values)
                ? values.First()
                : "?";
        }

        public void Dispose() => http.Dispose();
    }

    /// <summary>
    /// In front of one pod's handler: notes on the response which endpoint served it (the request itself names the
    /// Service, so the caller cannot tell from it).
    /// </summary>
    private sealed class SentToRecorder(string pod, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            HttpResponseMessage response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            response.Headers.TryAddWithoutValidation(SentToHeader, pod);
            return response;
        }
    }
}
