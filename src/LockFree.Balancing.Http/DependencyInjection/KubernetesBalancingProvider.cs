using System.Collections.Concurrent;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LockFree.Balancing.Http.DependencyInjection;

/// <summary>
/// The container's one <see cref="KubernetesBalancing"/> per named <c>HttpClient</c>: a singleton, so handlers that
/// <c>IHttpClientFactory</c> recycles keep using the same balancers.
/// </summary>
internal sealed class KubernetesBalancingProvider(
    KubernetesWatchRegistry registry,
    IOptionsMonitor<KubernetesBalancingOptions> options,
    ILoggerFactory loggerFactory) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<KubernetesBalancing>> _byName = new(StringComparer.Ordinal);

    public KubernetesBalancing Get(string name)
        => _byName.GetOrAdd(name, n => new Lazy<KubernetesBalancing>(
            () => new KubernetesBalancing(registry, new BalancingSettings(options.Get(n), n), loggerFactory))).Value;

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
