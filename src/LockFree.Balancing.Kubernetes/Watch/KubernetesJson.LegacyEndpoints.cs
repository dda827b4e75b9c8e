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
    public static WatchEvent ParseLegacyWatchEvent(ReadOnlySpan<byte> line, Utf8StringCache cache)
    {
        try
        {
            var reader = new Utf8JsonReader(line, isFinalBlock: true, new JsonReaderState(ReaderOptions));
            ReadStartObject(ref reader, "watch event");
            WatchEventType? type = null;
            LegacyObject parsed = default;
            bool hasObject = false;
            while (ReadProperty(ref reader))
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    type = ReadEventType(ref reader);
                }
                else if (reader.ValueTextEquals("object"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        parsed = ReadLegacyObject(ref reader, cache);
                        hasObject = true;
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            EnsureEnd(ref reader);
            if (type is not WatchEventType eventType)
            {
                throw new InvalidWatchDataException("A watch event has no 'type'.");
            }

            ObjectParts parts = parsed.Parts;
            switch (eventType)
            {
                case WatchEventType.Added or WatchEventType.Modified or WatchEventType.Deleted:
                    if (!hasObject || parts.Name is null)
                    {
                        throw new InvalidWatchDataException($"A watch event of type {eventType} has no object with metadata.name.");
                    }

                    IReadOnlyList<EndpointSlice> slices = eventType == WatchEventType.Deleted ? [] : parsed.ToSlices();
                    return new WatchEvent(eventType, parts.ResourceVersion, null, null, false, slices);
                case WatchEventType.Error:
                    return new WatchEvent(eventType, parts.ResourceVersion, null, parts.ToStatus(), false);
                default:
                    return new WatchEvent(eventType, parts.ResourceVersion, null, null, parts.InitialEventsEnd);
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidWatchDataException($"A watch event is not valid JSON of the expected shape: {ex.Message}", ex);
        }
    }

    /// <summary>Parses one LIST page of core/v1 Endpoints (an <c>EndpointsList</c>) into synthetic slices.</summary>
    /// <exception cref="InvalidWatchDataException">The body is not a valid list.</exception>
    public static EndpointSliceList ParseLegacyList(ReadOnlySpan<byte> body, Utf8StringCache cache)
    {
        try
        {
            var reader = new Utf8JsonReader(body, isFinalBlock: true, new JsonReaderState(ReaderOptions));
            ReadStartObject(ref reader, "list");
            string? resourceVersion = null;
            string? continueToken = null;
            var items = new List<EndpointSlice>();
            while (ReadProperty(ref reader))
            {
                if (reader.ValueTextEquals("metadata"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }

                    while (ReadProperty(ref reader))
                    {
                        bool isVersion = reader.ValueTextEquals("resourceVersion"u8);
                        bool isContinue = !isVersion && reader.ValueTextEquals("continue"u8);
                        reader.Read();
                        if (isVersion)
                        {
                            resourceVersion = ReadOptionalString(ref reader);
                        }
                        else if (isContinue)
                        {
                            continueToken = ReadOptionalString(ref reader);
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                else if (reader.ValueTextEquals("items"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        continue;
                    }

                    Expect(ref reader, JsonTokenType.StartArray, "items");
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        Expect(ref reader, JsonTokenType.StartObject, "an item");
                        LegacyObject item = ReadLegacyObject(ref reader, cache);
                        if (item.Parts.Name is null)
                        {
                            throw new InvalidWatchDataException("A list item has no metadata.name.");
                        }

                        items.AddRange(item.ToSlices());
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            EnsureEnd(ref reader);
            return new EndpointSliceList(resourceVersion, string.IsNullOrEmpty(continueToken) ? null : continueToken, items);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidWatchDataException($"A list response is not valid JSON of the expected shape: {ex.Message}", ex);
        }
    }

    /// <summary>Reads an Endpoints, Status or bookmark object; the reader is on its StartObject.</summary>
    private static LegacyObject ReadLegacyObject(ref Utf8JsonReader reader, Utf8StringCache cache)
    {
        LegacyObject result = default;
        while (ReadProperty(ref reader))
        {
            if (reader.ValueTextEquals("metadata"u8))
            {
                reader.Read();
                ReadMetadata(ref reader, cache, known: null, ref result.Parts);
            }
            else if (reader.ValueTextEquals("subsets"u8))
            {
                reader.Read();
                result.Subsets = ReadSubsets(ref reader, cache);
            }
            else if (reader.ValueTextEquals("kind"u8))
            {
                reader.Read();
                result.Parts.IsStatus = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("Status"u8);
            }
            else if (reader.ValueTextEquals("code"u8))
            {
                reader.Read();
                result.Parts.Code = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int code) ? code : null;
            }
            else if (reader.ValueTextEquals("reason"u8))
            {
                reader.Read();
                result.Parts.Reason = ReadOptionalString(ref reader);
            }
            else if (reader.ValueTextEquals("message"u8))
            {
                reader.Read();
                result.Parts.Message = ReadOptionalString(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return result;
    }

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

    private struct LegacyObject
    {
        public ObjectParts Parts;
        public List<LegacySubset>? Subsets;

        public readonly List<EndpointSlice> ToSlices()
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
                        string name = string.Create(CultureInfo.InvariantCulture, $"{Parts.Name}/{i}/{family}");
                        slices.Add(new EndpointSlice(name, Parts.ResourceVersion, family, subset.Ports, endpoints));
                    }
                }
            }

            return slices;
        }
    }
}
