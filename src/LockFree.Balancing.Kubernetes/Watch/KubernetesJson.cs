using System.Text.Json;
using LockFree.Balancing.Kubernetes.Slices;

namespace LockFree.Balancing.Kubernetes.Watch;

/// <summary>
/// Reads watch events, LIST pages and Status objects with <see cref="Utf8JsonReader"/>: one forward pass,
/// no DOM, unknown fields skipped (including large <c>managedFields</c>), property order not assumed.
/// </summary>
internal static partial class KubernetesJson
{
    // PERF: scratch lists reused across events; a result is copied out only when it differs from what is held.
    [ThreadStatic]
    private static List<SliceEndpoint>? t_endpoints;

    [ThreadStatic]
    private static List<SlicePort>? t_ports;

    [ThreadStatic]
    private static List<string>? t_names;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>Parses one complete watch line <c>{"type":...,"object":{...}}</c>.</summary>
    /// <remarks>
    /// PERF: with <paramref name="known"/>, a slice whose name is already held is compared field by field while it is
    /// read; endpoints, ports and hint lists that did not change are reused, and a slice that did not change at all
    /// comes back as the very instance held, so an event that changes nothing allocates only its resourceVersion.
    /// </remarks>
    /// <exception cref="InvalidWatchDataException">The line is not a valid watch event.</exception>
    public static WatchEvent ParseWatchEvent(ReadOnlySpan<byte> line, Utf8StringCache cache, EndpointSliceSet? known = null)
        => ParseEvent(line, cache, known, legacy: false);

    /// <summary>Parses a watch line of EndpointSlices, or (with <paramref name="legacy"/>) of core/v1 Endpoints.</summary>
    private static WatchEvent ParseEvent(ReadOnlySpan<byte> line, Utf8StringCache cache, EndpointSliceSet? known, bool legacy)
    {
        try
        {
            var reader = new Utf8JsonReader(line, isFinalBlock: true, new JsonReaderState(ReaderOptions));
            ReadStartObject(ref reader, "watch event");
            WatchEventType? type = null;
            ObjectParts parts = default;
            bool hasObject = false;
            while (ReadProperty(ref reader, out Field field, EventNames))
            {
                if (field == Field.Type)
                {
                    reader.Read();
                    type = ReadEventType(ref reader);
                }
                else if (field == Field.Object)
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        parts = ReadObject(ref reader, cache, known, legacy);
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

            switch (eventType)
            {
                case WatchEventType.Added or WatchEventType.Modified or WatchEventType.Deleted:
                    if (!hasObject || parts.Name is null)
                    {
                        throw new InvalidWatchDataException($"A watch event of type {eventType} has no object with metadata.name.");
                    }

                    return legacy
                        ? new WatchEvent(eventType, parts.ResourceVersion, null, null, false, eventType == WatchEventType.Deleted ? [] : parts.ToLegacySlices())
                        : new WatchEvent(eventType, parts.ResourceVersion, parts.ToSlice(), null, false);
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

    /// <summary>Parses one complete LIST page (an <c>EndpointSliceList</c>).</summary>
    /// <exception cref="InvalidWatchDataException">The body is not a valid list.</exception>
    public static EndpointSliceList ParseList(ReadOnlySpan<byte> body, Utf8StringCache cache, EndpointSliceSet? known = null)
        => ParseListPage(body, cache, known, legacy: false);

    /// <summary>Parses a LIST page of EndpointSlices, or (with <paramref name="legacy"/>) of core/v1 Endpoints.</summary>
    private static EndpointSliceList ParseListPage(ReadOnlySpan<byte> body, Utf8StringCache cache, EndpointSliceSet? known, bool legacy)
    {
        try
        {
            var reader = new Utf8JsonReader(body, isFinalBlock: true, new JsonReaderState(ReaderOptions));
            ReadStartObject(ref reader, "list");
            string? resourceVersion = null;
            string? continueToken = null;
            var items = new List<EndpointSlice>();
            while (ReadProperty(ref reader, out Field field, ListNames))
            {
                if (field == Field.Metadata)
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }

                    while (ReadProperty(ref reader, out Field metadataField, ListMetadataNames))
                    {
                        if (metadataField == Field.ResourceVersion)
                        {
                            reader.Read();
                            resourceVersion = ReadOptionalString(ref reader);
                        }
                        else if (metadataField == Field.Continue)
                        {
                            reader.Read();
                            continueToken = ReadOptionalString(ref reader);
                        }
                        else
                        {
                            reader.Read();
                            reader.Skip();
                        }
                    }
                }
                else if (field == Field.Items)
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
                        ObjectParts parts = ReadObject(ref reader, cache, known, legacy);
                        if (parts.Name is null)
                        {
                            throw new InvalidWatchDataException("A list item has no metadata.name.");
                        }

                        if (legacy)
                        {
                            items.AddRange(parts.ToLegacySlices());
                        }
                        else
                        {
                            items.Add(parts.ToSlice());
                        }
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

    /// <summary>Reads a Status from an error response body; <see langword="null"/> when the body is not one.</summary>
    public static ApiStatus? TryParseStatus(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, isFinalBlock: true, new JsonReaderState(ReaderOptions));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            ObjectParts parts = ReadObject(ref reader, new Utf8StringCache(), known: null, legacy: false);
            return parts.IsStatus || parts.Code is not null || parts.Message is not null ? parts.ToStatus() : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or InvalidWatchDataException)
        {
            return null;
        }
    }

    private static WatchEventType ReadEventType(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.String, "type");
        if (reader.ValueTextEquals("ADDED"u8))
        {
            return WatchEventType.Added;
        }

        if (reader.ValueTextEquals("MODIFIED"u8))
        {
            return WatchEventType.Modified;
        }

        if (reader.ValueTextEquals("DELETED"u8))
        {
            return WatchEventType.Deleted;
        }

        if (reader.ValueTextEquals("BOOKMARK"u8))
        {
            return WatchEventType.Bookmark;
        }

        return reader.ValueTextEquals("ERROR"u8) ? WatchEventType.Error : WatchEventType.Unknown;
    }

    /// <summary>
    /// Reads an EndpointSlice (or, with <paramref name="legacy"/>, a core/v1 Endpoints), a Status or a bookmark object,
    /// whichever fields are present; the reader is on its StartObject.
    /// </summary>
    private static ObjectParts ReadObject(ref Utf8JsonReader reader, Utf8StringCache cache, EndpointSliceSet? known, bool legacy)
    {
        ObjectParts parts = default;
        while (ReadProperty(ref reader, out Field field, ObjectNames))
        {
            reader.Read();
            switch (field)
            {
                case Field.Metadata:
                    ReadMetadata(ref reader, cache, known, ref parts);
                    break;
                case Field.AddressType:
                    parts.AddressType = ReadAddressType(ref reader);
                    break;
                case Field.Endpoints:
                    parts.Endpoints = ReadEndpoints(ref reader, cache, parts.Previous?.Endpoints);
                    break;
                case Field.Ports:
                    parts.Ports = ReadPorts(ref reader, cache, parts.Previous?.Ports);
                    break;
                case Field.Subsets when legacy:
                    parts.Subsets = ReadSubsets(ref reader, cache);
                    break;
                case Field.Kind:
                    parts.IsStatus = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("Status"u8);
                    reader.Skip(); // an object or array where a string belongs: step over it, or the reader loses its place
                    break;
                case Field.Code:
                    parts.Code = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int code) ? code : null;
                    reader.Skip();
                    break;
                case Field.Reason:
                    parts.Reason = ReadOptionalString(ref reader);
                    break;
                case Field.Message:
                    parts.Message = ReadOptionalString(ref reader);
                    break;
                default:
                    reader.Skip(); // managedFields, ownerReferences, labels, spec of other kinds, ...
                    break;
            }
        }

        return parts;
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, Utf8StringCache cache, EndpointSliceSet? known, ref ObjectParts parts)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (ReadProperty(ref reader, out Field field, MetadataNames))
        {
            reader.Read();
            switch (field)
            {
                case Field.Name:
                    parts.Name = reader.TokenType == JsonTokenType.Null ? null : cache.Get(ref reader);
                    parts.Previous = parts.Name is not null && known is not null && known.TryGet(parts.Name, out EndpointSlice? previous) ? previous : null;
                    break;
                case Field.ResourceVersion:
                    parts.ResourceVersion = ReadOptionalString(ref reader);
                    break;
                case Field.Annotations when reader.TokenType == JsonTokenType.StartObject:
                    while (ReadProperty(ref reader, out Field annotation, AnnotationNames))
                    {
                        reader.Read();
                        if (annotation == Field.InitialEventsEnd && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("true"u8))
                        {
                            parts.InitialEventsEnd = true;
                        }

                        reader.Skip();
                    }

                    break;
                default:
                    reader.Skip(); // managedFields can be kilobytes: Skip walks it without materializing anything
                    break;
            }
        }
    }

    private static SliceAddressType ReadAddressType(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return SliceAddressType.Unknown;
        }

        if (reader.ValueTextEquals("IPv4"u8))
        {
            return SliceAddressType.IPv4;
        }

        if (reader.ValueTextEquals("IPv6"u8))
        {
            return SliceAddressType.IPv6;
        }

        return reader.ValueTextEquals("FQDN"u8) ? SliceAddressType.Fqdn : SliceAddressType.Unknown;
    }

    private static IReadOnlyList<SliceEndpoint>? ReadEndpoints(ref Utf8JsonReader reader, Utf8StringCache cache, IReadOnlyList<SliceEndpoint>? previous)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartArray, "endpoints");
        List<SliceEndpoint> endpoints = t_endpoints ??= [];
        endpoints.Clear();
        bool allReused = previous is not null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            Expect(ref reader, JsonTokenType.StartObject, "an endpoint");
            string? address = null;
            bool? ready = null, serving = null, terminating = null;
            string? nodeName = null, zone = null;
            SliceEndpoint? before = previous is not null && endpoints.Count < previous.Count ? previous[endpoints.Count] : null;
            IReadOnlyList<string> forZones = [], forNodes = [];
            while (ReadProperty(ref reader, out Field field, EndpointNames))
            {
                reader.Read();
                switch (field)
                {
                    case Field.Addresses:
                        address = ReadFirstString(ref reader, cache, before?.Address);
                        break;
                    case Field.Conditions when reader.TokenType == JsonTokenType.StartObject:
                        while (ReadProperty(ref reader, out Field condition, ConditionNames))
                        {
                            reader.Read();
                            switch (condition)
                            {
                                case Field.Ready:
                                    ready = ReadOptionalBool(ref reader);
                                    break;
                                case Field.Serving:
                                    serving = ReadOptionalBool(ref reader);
                                    break;
                                case Field.Terminating:
                                    terminating = ReadOptionalBool(ref reader);
                                    break;
                                default:
                                    reader.Skip();
                                    break;
                            }
                        }

                        break;
                    case Field.NodeName:
                        nodeName = reader.TokenType == JsonTokenType.Null ? null : cache.Get(ref reader, before?.NodeName);
                        break;
                    case Field.Zone:
                        zone = reader.TokenType == JsonTokenType.Null ? null : cache.Get(ref reader, before?.Zone);
                        break;
                    case Field.Hints when reader.TokenType == JsonTokenType.StartObject:
                        while (ReadProperty(ref reader, out Field hint, HintNames))
                        {
                            reader.Read();
                            switch (hint)
                            {
                                case Field.ForZones:
                                    forZones = ReadNames(ref reader, cache, before?.ForZones);
                                    break;
                                case Field.ForNodes:
                                    forNodes = ReadNames(ref reader, cache, before?.ForNodes);
                                    break;
                                default:
                                    reader.Skip();
                                    break;
                            }
                        }

                        break;
                    default:
                        reader.Skip(); // targetRef, deprecatedTopology, hostname, and conditions or hints that are not objects
                        break;
                }
            }

            if (before is not null && before.Matches(address, ready, serving, terminating, nodeName, zone, forZones, forNodes))
            {
                endpoints.Add(before);
            }
            else
            {
                allReused = false;
                endpoints.Add(new SliceEndpoint(address, ready, serving, terminating, nodeName, zone, forZones, forNodes));
            }
        }

        if (allReused && endpoints.Count == previous!.Count)
        {
            endpoints.Clear();
            return previous;
        }

        SliceEndpoint[] result = [.. endpoints];
        endpoints.Clear();
        return result;
    }

    private static IReadOnlyList<SlicePort>? ReadPorts(ref Utf8JsonReader reader, Utf8StringCache cache, IReadOnlyList<SlicePort>? previous)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartArray, "ports");
        List<SlicePort> ports = t_ports ??= [];
        ports.Clear();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            Expect(ref reader, JsonTokenType.StartObject, "a port");
            string? name = null;
            int? number = null;
            bool invalidNumber = false;
            string? protocol = null;
            while (ReadProperty(ref reader, out Field field, PortNames))
            {
                reader.Read();
                switch (field)
                {
                    case Field.Name:
                        name = reader.TokenType == JsonTokenType.Null ? null : cache.Get(ref reader);
                        break;
                    case Field.Port:
                        // null means "every port" (the API's wildcard); anything else that is not a port number is
                        // malformed and must not turn into that wildcard: the entry is dropped below.
                        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int value) && value is >= 1 and <= 65535)
                        {
                            number = value;
                        }
                        else
                        {
                            number = null;
                            invalidNumber = reader.TokenType != JsonTokenType.Null;
                            reader.Skip();
                        }

                        break;
                    case Field.Protocol:
                        protocol = reader.TokenType == JsonTokenType.Null ? null : cache.Get(ref reader);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            if (!invalidNumber)
            {
                ports.Add(new SlicePort(name, number, protocol ?? "TCP"));
            }
        }

        if (previous is not null && SameItems(ports, previous))
        {
            ports.Clear();
            return previous;
        }

        SlicePort[] result = [.. ports];
        ports.Clear();
        return result;
    }

    /// <summary>The first string of an array (all addresses are fungible); the rest are skipped unread.</summary>
    private static string? ReadFirstString(ref Utf8JsonReader reader, Utf8StringCache cache, string? expected = null)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }

        string? first = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (first is null && reader.TokenType == JsonTokenType.String)
            {
                first = cache.Get(ref reader, expected);
            }
            else
            {
                reader.Skip();
            }
        }

        return first;
    }

    /// <summary>The <c>name</c> of each object in an array such as <c>hints.forZones</c>.</summary>
    private static IReadOnlyList<string> ReadNames(ref Utf8JsonReader reader, Utf8StringCache cache, IReadOnlyList<string>? previous)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return [];
        }

        List<string> names = t_names ??= [];
        names.Clear();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            while (ReadProperty(ref reader, out Field field, NameOnly))
            {
                reader.Read();
                if (field == Field.Name && reader.TokenType == JsonTokenType.String)
                {
                    names.Add(cache.Get(ref reader));
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        IReadOnlyList<string> result = names.Count == 0 ? [] : previous is not null && SameItems(names, previous) ? previous : [.. names];
        names.Clear();
        return result;
    }

    private static bool SameItems<T>(List<T> items, IReadOnlyList<T> previous)
    {
        if (items.Count != previous.Count)
        {
            return false;
        }

        for (int i = 0; i < items.Count; i++)
        {
            if (!EqualityComparer<T>.Default.Equals(items[i], previous[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string? ReadOptionalString(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        reader.Skip();
        return null;
    }

    private static bool? ReadOptionalBool(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        JsonTokenType.Null => null,
        _ => throw new InvalidWatchDataException($"A condition is {reader.TokenType}, not a boolean or null."),
    };

    /// <summary>Advances to the next property name of the current object; false at its end.</summary>
    private static bool ReadProperty(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new InvalidWatchDataException("The JSON ends inside an object.");
        }

        if (reader.TokenType == JsonTokenType.EndObject)
        {
            return false;
        }

        Expect(ref reader, JsonTokenType.PropertyName, "a property");
        return true;
    }

    private static void ReadStartObject(ref Utf8JsonReader reader, string what)
    {
        if (!reader.Read())
        {
            throw new InvalidWatchDataException($"The {what} is empty.");
        }

        Expect(ref reader, JsonTokenType.StartObject, what);
    }

    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new InvalidWatchDataException("Unexpected data after the JSON object.");
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType expected, string what)
    {
        if (reader.TokenType != expected)
        {
            throw new InvalidWatchDataException($"Expected {expected} for {what} but found {reader.TokenType}.");
        }
    }

    /// <summary>Everything read from one object, whichever kind it turns out to be.</summary>
    private partial struct ObjectParts
    {
        public string? Name;
        public string? ResourceVersion;
        public bool InitialEventsEnd;
        public SliceAddressType AddressType;
        public EndpointSlice? Previous;
        public IReadOnlyList<SliceEndpoint>? Endpoints;
        public IReadOnlyList<SlicePort>? Ports;
        public bool IsStatus;
        public int? Code;
        public string? Reason;
        public string? Message;
        public List<LegacySubset>? Subsets; // legacy core/v1 Endpoints only

        public readonly EndpointSlice ToSlice()
        {
            IReadOnlyList<SlicePort> ports = Ports ?? [];
            IReadOnlyList<SliceEndpoint> endpoints = Endpoints ?? [];
            EndpointSlice? previous = Previous;
            if (previous is not null
                && previous.AddressType == AddressType
                && (ReferenceEquals(previous.Ports, ports) || (ports.Count == 0 && previous.Ports.Count == 0))
                && (ReferenceEquals(previous.Endpoints, endpoints) || (endpoints.Count == 0 && previous.Endpoints.Count == 0)))
            {
                return previous; // nothing the balancer uses changed: the held instance stands (its resourceVersion is informational)
            }

            return new(Name!, ResourceVersion, AddressType, ports, endpoints);
        }

        public readonly ApiStatus ToStatus() => new(Code, Reason, Message);
    }
}
