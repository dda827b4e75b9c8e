using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Http;

/// <summary>
/// One Service as one <see cref="KubernetesBalancing"/> balances it: the picker for requests without a key, the
/// affinity picker when an affinity source is set, and one subscription to the shared watch that feeds both.
/// </summary>
/// <remarks>
/// Lives as long as its <see cref="KubernetesBalancing"/> (not its handlers), so in-flight counts and ejections
/// survive <c>IHttpClientFactory</c>'s handler recycling. The two balancers count separately: keyed requests
/// bound the affinity picker's loads, and ejection is decided per balancer.
/// </remarks>
internal sealed class BalancedService : IDisposable
{
    private readonly ILogger _logger;
    private readonly WatchSubscription _subscription;
    private readonly string _serviceText;
    private readonly BalancingMetrics _metrics;
    private long _inFlight;
    private int _lastCount = -1;   // written by the watch loop's deliveries, one at a time

    public BalancedService(ServiceReference service, KubernetesWatchRegistry registry, BalancingSettings settings, ILogger logger, BalancingMetrics metrics)
    {
        Service = service;
        _metrics = metrics;
        _serviceText = service.ToString();
        _logger = logger;
        // Two named clients balancing one Service have a balancer each (their own ejections): the client's name keeps
        // their endpoint series apart.
        ServiceTags = string.IsNullOrEmpty(settings.ClientName)
            ? [new(BalancingMetrics.NamespaceTag, service.Namespace), new(BalancingMetrics.ServiceTag, service.Name)]
            : [new(BalancingMetrics.NamespaceTag, service.Namespace), new(BalancingMetrics.ServiceTag, service.Name), new(BalancingMetrics.ClientNameTag, settings.ClientName)];
        Balancer = settings.CreateBalancer(settings.Picker, OnEjected);
        PickerName = PickerTagValue(settings.Picker);
        if (settings.HasAffinity)
        {
            AffinityBalancer = settings.CreateBalancer(settings.AffinityPicker, OnEjected);
            AffinityPickerName = PickerTagValue(settings.AffinityPicker);
        }

        if (settings.HasAffinity)
        {
            Log.BalancingStarted(logger, _serviceText, settings.Picker, settings.AffinityPicker);
        }
        else
        {
            Log.BalancingStartedWithoutAffinity(logger, _serviceText, settings.Picker);
        }

        if (settings.Transport == BalancingTransport.PodConnections)
        {
            Pods = new PodHandlers((pod, isServiceAuthority) => settings.CreatePodHandler(pod, isServiceAuthority, metrics.MeterFactory), settings.FallbackEndpoint);
        }
        else
        {
            PodUris = new PodUris();
        }

        // Subscribed last: the first delivery may run inside Subscribe and needs every field above.
        _subscription = registry.Subscribe(service, Deliver);
        metrics.Register(this);
    }

    public ServiceReference Service { get; }

    public string ServiceText => _serviceText;

    /// <summary>The picker for requests without an affinity key (and for retries).</summary>
    public LoadBalancer Balancer { get; }

    /// <summary>The affinity picker, or <see langword="null"/> when no affinity source is set.</summary>
    public LoadBalancer? AffinityBalancer { get; }

    public string PickerName { get; }

    public string? AffinityPickerName { get; }

    /// <summary>The endpoint gauge's tags for this Service: namespace, name and, for a named client, the client's name.</summary>
    public KeyValuePair<string, object?>[] ServiceTags { get; }

    public KubernetesEndpointWatcher Watcher => _subscription.Watcher;

    /// <summary>The request URIs rewritten to this Service's pods (<see cref="BalancingTransport.InnerHandler"/>); <see langword="null"/> with pod connections.</summary>
    public PodUris? PodUris { get; }

    /// <summary>The pods' connection pools (<see cref="BalancingTransport.PodConnections"/>); <see langword="null"/> with the other transport.</summary>
    public PodHandlers? Pods { get; }

    public long InFlight => Volatile.Read(ref _inFlight);

    public void OnAcquired() => Interlocked.Increment(ref _inFlight);

    /// <summary>
    /// Ends a lease once (a default or already-ended lease does nothing), keeps the in-flight count in step and
    /// records the try's end (<paramref name="measure"/>, cleared).
    /// </summary>
    /// <param name="lease">The lease; ended.</param>
    /// <param name="failed">Whether the pod failed the request (reported to outlier ejection).</param>
    /// <param name="measure">What the try's start recorded.</param>
    /// <param name="statusCode">The response's status code, 0 without a response.</param>
    /// <param name="errorType">The <c>error.type</c> of a try that ended without a response or whose body broke off.</param>
    public void Release(ref EndpointLease lease, bool failed, ref RequestMeasure measure, int statusCode, string? errorType)
    {
        BalancingMetrics.End(ref measure, statusCode, errorType);
        if (!lease.IsHeld)
        {
            return;
        }

        if (failed)
        {
            lease.Fail();
        }
        else
        {
            lease.Dispose();
        }

        Interlocked.Decrement(ref _inFlight);
    }

    public void Dispose()
    {
        _metrics.Unregister(this);
        _subscription.Dispose();
        Pods?.Dispose();
    }

    internal static string PickerTagValue(BalancingPicker picker) => picker switch
    {
        BalancingPicker.RoundRobin => "round_robin",
        BalancingPicker.Random => "random",
        BalancingPicker.PowerOfTwoChoices => "power_of_two_choices",
        BalancingPicker.ConsistentHash => "consistent_hash",
        BalancingPicker.Maglev => "maglev",
        _ => "unknown",
    };

    private void Deliver(IReadOnlyList<Endpoint> endpoints)
    {
        // Both balancers get every set; an exception (a set the picker refuses) reaches the watcher's Status.
        Balancer.Update(endpoints);
        AffinityBalancer?.Update(endpoints);
        PodUris?.Retain(endpoints);
        Pods?.Retain(endpoints);
        int previous = Math.Max(_lastCount, 0);
        int count = endpoints.Count;
        bool first = _lastCount < 0;
        _lastCount = count;
        if (first || previous != count)
        {
            Log.EndpointsChanged(_logger, _serviceText, count, previous);
        }
    }

    // Runs on the thread that reported the failure, inside EndpointLease.Fail: nothing may escape into the request.
    private void OnEjected(EndpointEjection ejection)
    {
        try
        {
            Log.EndpointEjected(_logger, ejection.Endpoint.Key, _serviceText, ejection.Duration, ejection.TimesEjected);
        }
#pragma warning disable CA1031 // a failing log provider must not fail the request that reported the failure
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
