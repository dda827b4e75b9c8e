using Grpc.Net.Client.Balancer;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// The <see cref="BalancerAttributes"/> the <c>kubernetes</c> resolver puts on every <see cref="BalancerAddress"/>:
/// the endpoint's weight, zone, node and topology hints, for custom policies and diagnostics.
/// </summary>
/// <remarks>The resolver sets them once per address before publishing it; treat them as read-only.</remarks>
public static class KubernetesBalancerAttributes
{
    /// <summary>The endpoint as the core balancers see it (key, weight, zone, node, hints).</summary>
    public static readonly BalancerAttributesKey<Endpoint> Endpoint = new("lockfree.endpoint");

    /// <summary>The endpoint's relative weight (1 unless the EndpointSlice says otherwise).</summary>
    public static readonly BalancerAttributesKey<int> Weight = new("lockfree.weight");

    /// <summary>The zone the endpoint runs in, when the EndpointSlice names one.</summary>
    public static readonly BalancerAttributesKey<string> Zone = new("lockfree.zone");

    /// <summary>The node the endpoint runs on, when the EndpointSlice names one.</summary>
    public static readonly BalancerAttributesKey<string> NodeName = new("lockfree.node");

    /// <summary>The zones this endpoint should serve (EndpointSlice <c>hints.forZones</c>); empty for none.</summary>
    public static readonly BalancerAttributesKey<IReadOnlyList<string>> ZoneHints = new("lockfree.zone-hints");

    /// <summary>
    /// grpc-dotnet's own <c>HostOverride</c> attribute (the key its DNS resolver uses): the <c>Host</c>/<c>:authority</c>
    /// header of calls to this address, which <c>SocketsHttpHandler</c> also sends as the TLS SNI name.
    /// </summary>
    public static readonly BalancerAttributesKey<string> HostOverride = new("HostOverride");
}
