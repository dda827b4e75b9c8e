using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LockFree.Balancing.Kubernetes.Diagnostics;

/// <summary>
/// The adapter's instruments on the <c>LockFree.Balancing</c> meter (shared by name with the core assembly's own
/// meter). Every measurement carries <c>k8s.namespace.name</c> and <c>k8s.service.name</c>.
/// </summary>
/// <remarks>
/// Thread-safe. Counters are recorded by the watch loops; <c>lockfree.kubernetes.sync.age</c> is observed on the
/// collector's thread from the watchers that are alive (they register at construction and leave at disposal).
/// </remarks>
internal static class KubernetesMetrics
{
    public const string MeterName = "LockFree.Balancing";
    public const string NamespaceTag = "k8s.namespace.name";
    public const string ServiceTag = "k8s.service.name";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Lock Gate = new();
    private static readonly HashSet<KubernetesEndpointWatcher> Live = [];

    private static readonly Counter<long> Restarts = Meter.CreateCounter<long>(
        "lockfree.kubernetes.watch.restarts", "{restart}", "Watch connections opened again after the previous one ended or failed.");

    private static readonly Counter<long> Relists = Meter.CreateCounter<long>(
        "lockfree.kubernetes.relists", "{relist}", "Full LISTs (or streaming lists) after the first: on 410 Gone, bad data, or the periodic resync.");

    private static readonly Counter<long> ApiErrors = Meter.CreateCounter<long>(
        "lockfree.kubernetes.api.errors", "{error}", "Failed calls to the Kubernetes API, by HTTP status code or, without a response, by error type.");

    private static readonly ObservableGauge<double> SyncAge = Meter.CreateObservableGauge(
        "lockfree.kubernetes.sync.age", ObserveSyncAge, "s", "Seconds since the watcher last confirmed its endpoint set with the API server.");

    public static void Register(KubernetesEndpointWatcher watcher)
    {
        lock (Gate)
        {
            Live.Add(watcher);
        }
    }

    public static void Unregister(KubernetesEndpointWatcher watcher)
    {
        lock (Gate)
        {
            Live.Remove(watcher);
        }
    }

    public static void WatchRestarted(ServiceReference service) => Restarts.Add(1, Tags(service));

    public static void Relisted(ServiceReference service) => Relists.Add(1, Tags(service));

    /// <summary>One failed call: with the HTTP (or in-stream Status) code, or without a response, the error's type name.</summary>
    public static void ApiError(ServiceReference service, int? statusCode, string errorType)
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

        ApiErrors.Add(1, tags);
    }

    private static TagList Tags(ServiceReference service) => new()
    {
        { NamespaceTag, service.Namespace },
        { ServiceTag, service.Name },
    };

    private static IEnumerable<Measurement<double>> ObserveSyncAge()
    {
        KubernetesEndpointWatcher[] watchers;
        lock (Gate)
        {
            watchers = [.. Live];
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
