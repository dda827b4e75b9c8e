using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using LockFree.Balancing.Kubernetes.Slices;

namespace LockFree.Balancing.Kubernetes.Watch;

/// <summary>
/// The legacy core/v1 <c>Endpoints</c> mode (clusters older than 1.21): an Endpoints object's subsets become
/// synthetic slices, so the merge (per-slice port resolution, one family, dedupe) serves both APIs.
/// </summary>
/// <remarks>
/// One synthetic slice per subset and address family, named <c>{object}/{subset}/{family}</c>: a subset's ports
/// apply to its own addresses only, which is exactly per-slice named-port resolution. <c>addresses</c> are ready,
/// <c>notReadyAddresses</c> are not (the old API cannot say whether they are terminating). Read with the same
/// forward-only <see cref="Utf8JsonReader"/> pass; this mode is for old clusters and skips the held-slice reuse.
/// </remarks>
internal static partial class KubernetesJson
{
    /// <summary>Parses one watch line of <c>/api/v1/namespaces/{ns}/endpoints?watch=true</c>.</summary>
    /// <exception cref="InvalidWatchDataException">The line is not a valid watch event.</exception>
    public static WatchEvent ParseLegacyWatchEvent(ReadOnlySpan<byte> line, Utf8StringCache cache, ResourceVersionBuffer? resourceVersion = null)
        => ParseEvent(line, cache, known: null, legacy: true, resourceVersion ?? new ResourceVersionBuffer());

    /// <summary>Parses one LIST page of core/v1 Endpoints (an <c>EndpointsList</c>) into synthetic slices.</summary>
    /// <exception cref="InvalidWatchDataException">The body is not a valid list.</exception>
    public static EndpointSliceList ParseLegacyList(ReadOnlySpan<byte> body, Utf8StringCache cache)
        => ParseListPage(body, cache, known: null, legacy: true);

    private static List<LegacySubset>? ReadSubsets(ref Utf8JsonReader reader, Utf8StringCache cache)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartArray, "subsets");
        var subsets = new List<LegacySubset>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            Expect(ref reader, JsonTokenType.StartObject, "a subset");
            var endpoints = new List<SliceEndpoint>();
            IReadOnlyList<SlicePort> ports = [];
            while (ReadProperty(ref reader))
            {
                if (reader.ValueTextEquals("addresses"u8))
                {
                    reader.Read();
                    ReadLegacyAddresses(ref reader, cache, ready: true, endpoints);
                }
                else if (reader.ValueTextEquals("notReadyAddresses"u8))
                {
                    reader.Read();
                    ReadLegacyAddresses(ref reader, cache, ready: false, endpoints);
                }
                else if (reader.ValueTextEquals("ports"u8))
                {
                    reader.Read();
                    ports = ReadPorts(ref reader, cache, previous: null) ?? [];
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            subsets.Add(new LegacySubset(endpoints, ports));
        }

        return subsets;
    }

    private static void ReadLegacyAddresses(ref Utf8JsonReader reader, Utf8StringCache cache, bool ready, List<SliceEndpoint> into)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        Expect(ref reader, JsonTokenType.StartArray, ready ? "addresses" : "notReadyAddresses");
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            Expect(ref reader, JsonTokenType.StartObject, "an address");
            string? ip = null;
            string? nodeName = null;
            while (ReadProperty(ref reader))
            {
                if (reader.ValueTextEquals("ip"u8))
                {
                    reader.Read();
                    ip = reader.TokenType == JsonTokenType.Null ? null : cache.Get(ref reader);
                }
                else if (reader.ValueTextEquals("nodeName"u8))
                {
                    reader.Read();
                    nodeName = reader.TokenType == JsonTokenType.Null ? null : cache.Get(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip(); // hostname, targetRef
                }
            }

            // The old API has no serving/terminating conditions: unknown (null), which the merge reads from ready.
            into.Add(new SliceEndpoint(ip, ready, serving: null, terminating: null, nodeName, zone: null, [], []));
        }
    }

    private static SliceAddressType FamilyOf(string? address)
        => address is not null && IPAddress.TryParse(address, out IPAddress? ip)
            ? ip.AddressFamily == AddressFamily.InterNetworkV6 ? SliceAddressType.IPv6 : SliceAddressType.IPv4
            : SliceAddressType.Unknown;

    private readonly record struct LegacySubset(List<SliceEndpoint> Endpoints, IReadOnlyList<SlicePort> Ports);

    private partial struct ObjectParts
    {
        /// <summary>The legacy object's subsets as synthetic slices, one per subset and address family.</summary>
        public readonly List<EndpointSlice> ToLegacySlices()
        {
            if (Subsets is null)
            {
                return [];
            }

            var slices = new List<EndpointSlice>();
            for (int i = 0; i < Subsets.Count; i++)
            {
                LegacySubset subset = Subsets[i];
                foreach (SliceAddressType family in (ReadOnlySpan<SliceAddressType>)[SliceAddressType.IPv4, SliceAddressType.IPv6])
                {
                    SliceEndpoint[] endpoints = [.. subset.Endpoints.Where(e => FamilyOf(e.Address) == family)];
                    if (endpoints.Length > 0)
                    {
                        string name = string.Create(CultureInfo.InvariantCulture, $"{Name}/{i}/{family}");
                        slices.Add(new EndpointSlice(name, ResourceVersionText, family, subset.Ports, endpoints) { OverCapacity = OverCapacity });
                    }
                }
            }

            return slices;
        }
    }
}
