using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.ServiceDiscovery;

/// <summary>The one implementation of <see cref="IKubernetesEndpointFeature"/>.</summary>
internal sealed class KubernetesEndpointFeature(Endpoint endpoint, ServiceReference service) : IKubernetesEndpointFeature
{
    public Endpoint Endpoint { get; } = endpoint;

    public ServiceReference Service { get; } = service;
}
