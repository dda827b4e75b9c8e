namespace LockFree.Balancing.Kubernetes.Slices;

/// <summary>An EndpointSlice's <c>addressType</c>.</summary>
internal enum SliceAddressType
{
    /// <summary>Missing or a type this library does not know; such a slice contributes nothing.</summary>
    Unknown,

    /// <summary><c>IPv4</c>.</summary>
    IPv4,

    /// <summary><c>IPv6</c>.</summary>
    IPv6,

    /// <summary><c>FQDN</c>.</summary>
    Fqdn,
}
