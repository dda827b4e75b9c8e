using LockFree.Balancing.Kubernetes.Slices;

namespace LockFree.Balancing.Kubernetes.Tests.Slices;

/// <summary>Terse builders for slices in tests.</summary>
internal static class Build
{
    public static SliceEndpoint Ep(
        string address,
        bool? ready = true,
        bool? serving = null,
        bool? terminating = null,
        string? node = null,
        string? zone = null,
        string[]? forZones = null,
        string[]? forNodes = null)
        => new(address, ready, serving, terminating, node, zone, forZones ?? [], forNodes ?? []);

    public static SlicePort Port(string? name, int? number, string protocol = "TCP") => new(name, number, protocol);

    public static EndpointSlice Slice(string name, SliceAddressType type, SlicePort[] ports, params SliceEndpoint[] endpoints)
        => new(name, "1", type, ports, endpoints);

    public static EndpointSlice V4(string name, params SliceEndpoint[] endpoints)
        => Slice(name, SliceAddressType.IPv4, [Port("http", 8080)], endpoints);

    public static EndpointSlice V6(string name, params SliceEndpoint[] endpoints)
        => Slice(name, SliceAddressType.IPv6, [Port("http", 8080)], endpoints);

    public static string[] Keys(MergedEndpoints merged) => [.. merged.Endpoints.Select(e => e.Key)];
}
