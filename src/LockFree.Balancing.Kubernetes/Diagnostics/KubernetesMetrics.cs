using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace LockFree.Balancing.Kubernetes.Diagnostics;

/// <summary>
/// The adapter's instruments on the <c>LockFree.Balancing.Kubernetes</c> meter: one instance per
/// <see cref="IMeterFactory"/> (the container's, from <see cref="KubernetesWatcherOptions.MeterFactory"/>, which the
/// DI registration fills in; its meter is disposed with the container), and one process-wide instance for watchers
/// created without a factory. Every measurement carries <c>k8s.namespace.name</c> and <c>k8s.service.name</c>.
/// </summary>
/// <remarks>
/// Thread-safe. Counters are recorded by the watch loops; <c>lockfree.kubernetes.sync.age</c> is observed on the
/// collector's thread from the watchers of this instance that are alive (they register at construction and leave
/// at disposal).
/// </remarks>
internal sealed class KubernetesMetrics
{
    public const string MeterName = "LockFree.Balancing.Kubernetes";
    public const string NamespaceTag = "k8s.namespace.name";
    public const string ServiceTag = "k8s.service.name";

    private static readonly ConditionalWeakTable<IMeterFactory, KubernetesMetrics> ByFactory = [];
    private static KubernetesMetrics? s_shared;

    private readonly Lock _gate = new();
    private readonly HashSet<KubernetesEndpointWatcher> _live = [];
    private readonly Counter<long> _restarts;
    private readonly Counter<long> _relists;
    private readonly Counter<long> _apiErrors;

    private KubernetesMetrics(Meter meter)
    {
        Meter = meter;
        _restarts = meter.CreateCounter<long>(
            "lockfree.kubernetes.watch.restarts", "{restart}", "Watch connections opened again after the previous one ended or failed.");
        _relists = meter.CreateCounter<long>(
            "lockfree.kubernetes.relists", "{relist}", "Full LISTs (or streaming lists) after the first: on 410 Gone, bad data, or the periodic resync.");
        _apiErrors = meter.CreateCounter<long>(
            "lockfree.kubernetes.api.errors", "{error}", "Failed calls to the Kubernetes API, by HTTP status code or, without a response, by error type.");
        meter.CreateObservableGauge(
            "lockfree.kubernetes.sync.age", ObserveSyncAge, "s", "Seconds since the watcher last confirmed its endpoint set with the API server.");
    }

    public Meter Meter { get; }

    /// <summary>The instruments of <paramref name="meterFactory"/>'s meter (made once per factory), or the process-wide ones.</summary>
    public static KubernetesMetrics For(IMeterFactory? meterFactory)
    {
        if (meterFactory is null)
        {
            return Volatile.Read(ref s_shared) ?? CreateShared();
        }

        return ByFactory.GetValue(meterFactory, static f => new KubernetesMetrics(f.Create(new MeterOptions(MeterName) { Version = Version })));
    }

    public void Register(KubernetesEndpointWatcher watcher)
    {
        lock (_gate)
        {
            _live.Add(watcher);
        }
    }

    public void Unregister(KubernetesEndpointWatcher watcher)
    {
        lock (_gate)
        {
            _live.Remove(watcher);
        }
    }

    public void WatchRestarted(ServiceReference service) => _restarts.Add(1, Tags(service));

    public void Relisted(ServiceReference service) => _relists.Add(1, Tags(service));

    /// <summary>One failed call: with the HTTP (or in-stream Status) code, or without a response, the error's type name.</summary>
    public void ApiError(ServiceReference service, int? statusCode, string errorType)
    {
        TagList tags = Tags(service);
        if (statusCode is int code)
        {
            tags.Add("http.response.status_code", code);
        }
        else
        {
            tags.Add("error.type", errorType);
        }

        _apiErrors.Add(1, tags);
    }

    private static string? Version => typeof(KubernetesMetrics).Assembly.GetName().Version?.ToString();

    private static TagList Tags(ServiceReference service) => new()
    {
        { NamespaceTag, service.Namespace },
        { ServiceTag, service.Name },
    };

    private static KubernetesMetrics CreateShared()
    {
        var created = new KubernetesMetrics(new Meter(MeterName, Version));
        KubernetesMetrics? raced = Interlocked.CompareExchange(ref s_shared, created, null);
        if (raced is not null)
        {
            created.Meter.Dispose();
            return raced;
        }

        return created;
    }

    private IEnumerable<Measurement<double>> ObserveSyncAge()
    {
        KubernetesEndpointWatcher[] watchers;
        lock (_gate)
        {
            watchers = [.. _live];
        }

        var measurements = new List<Measurement<double>>(watchers.Length);
        foreach (KubernetesEndpointWatcher watcher in watchers)
        {
            if (watcher.SyncAge() is TimeSpan age)
            {
                measurements.Add(new Measurement<double>(age.TotalSeconds, Tags(watcher.Service)));
            }
        }

        return measurements;
    }
}
