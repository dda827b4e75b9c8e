using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LockFree.Balancing.Http.DependencyInjection;

/// <summary>
/// The container's one <see cref="KubernetesBalancing"/> per named <c>HttpClient</c>: a singleton, so handlers that
/// <c>IHttpClientFactory</c> recycles keep using the same balancers. Their instruments share one
/// <c>LockFree.Balancing.Http</c> meter from the container's <see cref="IMeterFactory"/>, disposed with the container.
/// </summary>
internal sealed class KubernetesBalancingProvider(
    KubernetesWatchRegistry registry,
    IOptionsMonitor<KubernetesBalancingOptions> options,
    ILoggerFactory loggerFactory,
    IMeterFactory? meterFactory) : IDisposable
{
    private readonly BalancingMetrics _metrics = BalancingMetrics.Create(meterFactory);
    private readonly ConcurrentDictionary<string, Lazy<KubernetesBalancing>> _byName = new(StringComparer.Ordinal);

    public KubernetesBalancing Get(string name)
        => _byName.GetOrAdd(name, n => new Lazy<KubernetesBalancing>(
            () => new KubernetesBalancing(registry, new BalancingSettings(options.Get(n), n), loggerFactory, _metrics))).Value;

    public void Dispose()
    {
        foreach (Lazy<KubernetesBalancing> balancing in _byName.Values)
        {
            if (balancing.IsValueCreated)
            {
                balancing.Value.Dispose();
            }
        }
    }
}
