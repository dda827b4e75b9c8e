namespace LockFree.Balancing;

/// <summary>What kind of address an <see cref="Endpoint"/> holds.</summary>
public enum EndpointAddressKind
{
    /// <summary>An IPv4 address in dotted decimal.</summary>
    IPv4,

    /// <summary>An IPv6 address; its key writes it in brackets.</summary>
    IPv6,

    /// <summary>A DNS name (the EndpointSlice address type <c>FQDN</c>).</summary>
    DnsName,
}
