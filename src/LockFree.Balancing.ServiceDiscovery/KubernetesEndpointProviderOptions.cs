using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.ServiceDiscovery;

/// <summary>
/// How the Kubernetes endpoint provider maps ServiceDiscovery names (<c>http://orders.shop</c>,
/// <c>https+http://_grpc.orders.shop</c>, <c>http://orders</c>) to Services and ports. How the watches reach the API
/// server is set on <see cref="KubernetesWatcherOptions"/> (<c>AddKubernetesWatchRegistry</c>), shared with every other
/// LockFree integration.
/// </summary>
/// <remarks>Read once, when the provider factory is created; later changes are not seen.</remarks>
public sealed class KubernetesEndpointProviderOptions
{
    /// <summary>The default for <see cref="InitialSyncTimeout"/>.</summary>
    public static readonly TimeSpan DefaultInitialSyncTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The namespace of one-label names (<c>http://orders</c>). <see langword="null"/> (the default): the pod's own
    /// namespace, read from the service account's <c>namespace</c> file, or <c>default</c> outside a pod.
    /// </summary>
    public string? DefaultNamespace { get; set; }

    /// <summary>
    /// The Service port (by name) used when the name gives none (<c>http://orders.shop</c> rather than
    /// <c>http://_grpc.orders.shop</c>). <see langword="null"/> (the default): the Service's single port; a Service
    /// with several ports then resolves to nothing for such names (the watcher's <c>PortDiagnostic</c> says why).
    /// </summary>
    public string? DefaultPortName { get; set; }

    /// <summary>
    /// When not empty, two-label names (<c>name.namespace</c>) are claimed only when their second label is one of these
    /// namespaces or <see cref="DefaultNamespace"/>; other two-label names (<c>example.com</c>) are left to the next
    /// providers (configuration, DNS, pass-through). Empty (the default): every two-label name whose labels are valid
    /// Kubernetes names is treated as a Service. Names ending in <c>.svc</c> or <c>.svc.&lt;cluster domain&gt;</c> and
    /// one-label names are always claimed.
    /// </summary>
    public IList<string> Namespaces { get; } = [];

    /// <summary>
    /// How long a resolution waits for the first answer of a Service's watch (its first LIST) before failing. An answer
    /// that is an error (403, 404, unreachable API server) fails the resolution at once with that error's text. Between
    /// 1 ms and 5 minutes; default 5 s.
    /// </summary>
    public TimeSpan InitialSyncTimeout { get; set; } = DefaultInitialSyncTimeout;
}
