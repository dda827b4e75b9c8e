namespace LockFree.Balancing.Kubernetes;

/// <summary>
/// Which EndpointSlice <c>addressType</c> feeds the balancer. A dual-stack Service has one slice per family
/// holding the same pods, so exactly one family is used, never two, or every pod would count twice.
/// </summary>
/// <remarks>
/// The choice is made from the slices present for the Service, not from which endpoints are ready:
/// a rollout that leaves no ready IPv4 endpoint for a moment does not flip the Service to IPv6.
/// </remarks>
public enum AddressFamilyPreference
{
    /// <summary>IPv4 slices; IPv6 slices when the Service has no IPv4 slice; FQDN slices when it has neither. The default.</summary>
    PreferIPv4,

    /// <summary>IPv6 slices; IPv4 slices when the Service has no IPv6 slice; FQDN slices when it has neither.</summary>
    PreferIPv6,

    /// <summary>IPv4 slices only.</summary>
    IPv4Only,

    /// <summary>IPv6 slices only.</summary>
    IPv6Only,

    /// <summary>FQDN slices only (custom controllers that publish DNS names).</summary>
    Fqdn,
}
