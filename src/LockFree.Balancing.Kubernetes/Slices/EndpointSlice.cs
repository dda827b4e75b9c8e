namespace LockFree.Balancing.Kubernetes.Slices;

/// <summary>One <c>discovery.k8s.io/v1</c> EndpointSlice, reduced to what the balancer needs. Immutable once built.</summary>
internal sealed class EndpointSlice
{
    public EndpointSlice(
        string name,
        string? resourceVersion,
        SliceAddressType addressType,
        IReadOnlyList<SlicePort> ports,
        IReadOnlyList<SliceEndpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
        ResourceVersion = resourceVersion;
        AddressType = addressType;
        Ports = ports;
        Endpoints = endpoints;
    }

    /// <summary><c>metadata.name</c>: the key of the slice in the per-Service state.</summary>
    public string Name { get; }

    /// <summary><c>metadata.resourceVersion</c>, opaque.</summary>
    public string? ResourceVersion { get; }

    public SliceAddressType AddressType { get; }

    public IReadOnlyList<SlicePort> Ports { get; }

    public IReadOnlyList<SliceEndpoint> Endpoints { get; }

    /// <summary>For a synthetic slice of a legacy Endpoints object: its over-capacity annotation.</summary>
    public OverCapacity OverCapacity { get; init; }
}
