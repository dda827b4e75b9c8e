using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LockFree.Balancing.Http;

/// <summary>
/// The HTTP integration's instruments on the library's meter, <c>LockFree.Balancing</c> (the Kubernetes adapter
/// creates its own meter of the same name for <c>lockfree.kubernetes.*</c>). Names, units and tags follow the
/// OpenTelemetry conventions; tags are bounded: picker, outcome, state, namespace and Service, never a key or a pod.
/// </summary>
internal static class BalancingMetrics
{
    public const string MeterName = "LockFree.Balancing";

    public const string PickerTag = "lockfree.picker";
    public const string OutcomeTag = "lockfree.pick.outcome";
    public const string StateTag = "lockfree.endpoint.state";
    public const string NamespaceTag = "k8s.namespace.name";
    public const string ServiceTag = "k8s.service.name";

    private static readonly Meter Meter = new(MeterName, typeof(BalancingMetrics).Assembly.GetName().Version?.ToString());

    // Services currently balanced by any KubernetesBalancing in the process; the observable instruments walk them.
    private static readonly ConcurrentDictionary<BalancedService, byte> Live = new();

    private static readonly Counter<long> Picks = Meter.CreateCounter<long>(
        "lockfree.picks", "{pick}", "Endpoint picks for HTTP requests, by picker and outcome (home, overflow, fallback, none).");

    static BalancingMetrics()
    {
        Meter.CreateObservableUpDownCounter(
            "lockfree.requests.in_flight", ObserveInFlight, "{request}", "HTTP requests holding a lease on one of the Service's endpoints.");
        Meter.CreateObservableGauge(
            "lockfree.endpoints", ObserveEndpoints, "{endpoint}", "The Service's endpoints by state: ready, ejected, draining (removed, requests still in flight).");
    }

    public static void Register(BalancedService service) => Live.TryAdd(service, 0);

    public static void Unregister(BalancedService service) => Live.TryRemove(service, out _);

    public static void RecordPick(BalancedService service, string picker, string outcome)
    {
        // PERF: Enabled is one field read; a TagList of four holds its tags inline (no allocation).
        if (!Picks.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { PickerTag, picker },
            { OutcomeTag, outcome },
            { NamespaceTag, service.Service.Namespace },
            { ServiceTag, service.Service.Name },
        };
        Picks.Add(1, in tags);
    }

    private static IEnumerable<Measurement<long>> ObserveInFlight()
    {
        foreach (BalancedService service in Live.Keys)
        {
            yield return new Measurement<long>(service.InFlight, service.ServiceTags);
        }
    }

    private static IEnumerable<Measurement<int>> ObserveEndpoints()
    {
        foreach (BalancedService service in Live.Keys)
        {
            int ready = 0;
            int ejected = 0;
            int draining = 0;
            foreach (EndpointStatus status in service.Balancer.GetStatus())
            {
                if (status.IsDraining)
                {
                    draining++;
                }
                else if (status.IsEjected)
                {
                    ejected++;
                }
                else
                {
                    ready++;
                }
            }

            yield return new Measurement<int>(ready, [.. service.ServiceTags, new(StateTag, "ready")]);
            yield return new Measurement<int>(ejected, [.. service.ServiceTags, new(StateTag, "ejected")]);
            yield return new Measurement<int>(draining, [.. service.ServiceTags, new(StateTag, "draining")]);
        }
    }
}
