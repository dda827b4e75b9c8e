using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.ServiceDiscovery;

/// <summary>
/// Set on every <c>ServiceEndpoint</c> the Kubernetes provider resolves: the pod endpoint as the EndpointSlice
/// described it (weight, zone, node, topology hints) and the Service it belongs to.
/// </summary>
/// <remarks>Read it with <c>serviceEndpoint.Features.Get&lt;IKubernetesEndpointFeature&gt;()</c>. Immutable.</remarks>
public interface IKubernetesEndpointFeature
{
    /// <summary>The pod endpoint: <see cref="LockFree.Balancing.Endpoint.Weight"/>, <see cref="LockFree.Balancing.Endpoint.Zone"/>, <see cref="LockFree.Balancing.Endpoint.NodeName"/> and hints.</summary>
    Endpoint Endpoint { get; }

    /// <summary>The Service and port the endpoint was resolved for.</summary>
    ServiceReference Service { get; }
}
