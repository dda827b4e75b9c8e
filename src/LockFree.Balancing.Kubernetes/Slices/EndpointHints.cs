namespace LockFree.Balancing.Kubernetes.Slices;

/// <summary>Topology hints of one merged endpoint: the zones and nodes the EndpointSlice controller assigned it to.</summary>
/// <remarks>
/// Kept beside the core <see cref="Endpoint"/>, which has <see cref="Endpoint.Zone"/> and
/// <see cref="Endpoint.NodeName"/> but no hints yet.
/// </remarks>
/// <param name="ForZones"><c>hints.forZones[].name</c>.</param>
/// <param name="ForNodes"><c>hints.forNodes[].name</c>.</param>
internal sealed record EndpointHints(IReadOnlyList<string> ForZones, IReadOnlyList<string> ForNodes);
