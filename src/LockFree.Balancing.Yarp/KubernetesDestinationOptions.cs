using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.Yarp;

/// <summary>
/// How YARP destinations with a Kubernetes address (<c>k8s://orders.shop:http</c>, <c>k8s+https://orders.shop:https</c>)
/// are resolved. How the watches reach the API server is set on <see cref="KubernetesWatcherOptions"/>
/// (<c>AddKubernetesWatchRegistry</c>), shared with every other LockFree integration.
/// </summary>
/// <remarks>Validated when the host starts; read once, when the resolver is created.</remarks>
public sealed class KubernetesDestinationOptions
{
    /// <summary>The default for <see cref="InitialSyncTimeout"/>.</summary>
    public static readonly TimeSpan DefaultInitialSyncTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The namespace of addresses that name none (<c>k8s://orders:http</c>). <see langword="null"/> (the default): the
    /// pod's own namespace, read from the service account's <c>namespace</c> file, or <c>default</c> outside a pod.
    /// </summary>
    public string? DefaultNamespace { get; set; }

    /// <summary>
    /// How long a configuration load waits for a Service's first answer (its first LIST) before failing. An answer that
    /// is an error (403, 404, unreachable API server) fails the load at once with that error. Between 1 ms and 5
    /// minutes; default 5 s.
    /// </summary>
    public TimeSpan InitialSyncTimeout { get; set; } = DefaultInitialSyncTimeout;
}
