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

    [ThreadStatic]
    private static long t_endpointsRecognised;

    /// <summary>Endpoints this thread's parses stepped over because their JSON was known byte for byte (for tests).</summary>
    internal static long EndpointsRecognisedOnThisThread => t_endpointsRecognised;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>Parses one complete watch line <c>{"type":...,"object":{...}}</c>.</summary>
    /// <remarks>
    /// PERF: with <paramref name="known"/>, a slice whose name is already held is compared with the held one while it is
    /// read. An endpoint whose JSON is byte for byte the JSON it was read from before is not tokenized again: the
    /// bytes were valid then, so they are valid now and mean the same endpoint. Endpoints, ports and hint lists that
    /// did not change are reused, and a slice that did not change at all comes back as the very instance held, so an
    /// event that changes nothing allocates nothing (its resourceVersion goes into <paramref name="resourceVersion"/>).
    /// </remarks>
    /// <param name="line">The event's bytes, without the line end.</param>
    /// <param name="cache">The watch loop's string cache.</param>
    /// <param name="known">The slices held, for reuse; <see langword="null"/> to parse without state.</param>
    /// <param name="resourceVersion">Receives the object's resourceVersion; <see langword="null"/> for a new buffer.</param>
    /// <exception cref="InvalidWatchDataException">The line is not a valid watch event.</exception>
    public static WatchEvent ParseWatchEvent(ReadOnlySpan<byte> line, Utf8StringCache cache, EndpointSliceSet? known = null, ResourceVersionBuffer? resourceVersion = null)
        => ParseEvent(line, cache, known, legacy: false, resourceVersion ?? new ResourceVersionBuffer());

    /// <summary>Parses a watch line of EndpointSlices, or (with <paramref name="legacy"/>) of core/v1 Endpoints.</summary>
    private static WatchEvent ParseEvent(ReadOnlySpan<byte> line, Utf8StringCache cache, EndpointSliceSet? known, bool legacy, ResourceVersionBuffer resourceVersion)
    {
        resourceVersion.Clear();
        try
        {
            var window = new ReaderWindow(line, skipsKnownEndpoints: !legacy && known is not null);
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
                        resourceVersion.Clear(); // a repeated "object": the last one counts, whole
                        parts = ReadObject(ref reader, ref window, cache, known, legacy, resourceVersion);
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
                        ? new WatchEvent(eventType, resourceVersion, null, null, false, eventType == WatchEventType.Deleted ? [] : parts.ToLegacySlices())
                        : new WatchEvent(eventType, resourceVersion, parts.ToSlice(), null, false);
                case WatchEventType.Error:
                    return new WatchEvent(eventType, resourceVersion, null, parts.ToStatus(), false);
                default:
                    return new WatchEvent(eventType, resourceVersion, null, null, parts.InitialEventsEnd);
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
            var window = new ReaderWindow(body, skipsKnownEndpoints: false);
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
                        ObjectParts parts = ReadObject(ref reader, ref window, cache, known, legacy, resourceVersion: null);
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

            var window = new ReaderWindow(body, skipsKnownEndpoints: false);
            ObjectParts parts = ReadObject(ref reader, ref window, new Utf8StringCache(), known: null, legacy: false, resourceVersion: null);
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
    /// <param name="reader">The reader, on the object's StartObject; may be replaced by one restarted further on.</param>
    /// <param name="window">The bytes the reader runs over.</param>
    /// <param name="cache">The watch loop's string cache.</param>
    /// <param name="known">The slices held, for reuse; <see langword="null"/> to parse without state.</param>
    /// <param name="legacy">A core/v1 Endpoints object.</param>
    /// <param name="resourceVersion">Receives metadata.resourceVersion; <see langword="null"/> to keep it as a string in the parts.</param>
    private static ObjectParts ReadObject(
        ref Utf8JsonReader reader, scoped ref ReaderWindow window, Utf8StringCache cache, EndpointSliceSet? known, bool legacy, ResourceVersionBuffer? resourceVersion)
    {
        ObjectParts parts = default;
        parts.ResourceVersionSink = resourceVersion;
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
                    parts.Endpoints = ReadEndpoints(ref reader, ref window, cache, parts.Previous?.Endpoints, remember: known is not null);
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
                case Field.ResourceVersion when parts.ResourceVersionSink is { } sink:
                    sink.Read(ref reader);
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

                        if (annotation == Field.OverCapacity && reader.TokenType == JsonTokenType.String)
                        {
                            // Legacy Endpoints over 1000 addresses: "truncated" since 1.22 (the controller kept 1000).
                            parts.OverCapacity = reader.ValueTextEquals("truncated"u8) ? OverCapacity.Truncated : OverCapacity.Warning;
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

    /// <summary>Reads <c>endpoints</c>, reusing held endpoints (and the held list) for what did not change.</summary>
    /// <param name="reader">The reader, on the value; may be replaced by one restarted past endpoints known byte for byte.</param>
    /// <param name="window">The bytes the reader runs over.</param>
    /// <param name="cache">The watch loop's string cache.</param>
    /// <param name="previous">The held slice's endpoints, or <see langword="null"/>.</param>
    /// <param name="remember">Keep each endpoint's JSON, so the next event can recognise it without tokenizing it.</param>
    private static IReadOnlyList<SliceEndpoint>? ReadEndpoints(
        ref Utf8JsonReader reader, scoped ref ReaderWindow window, Utf8StringCache cache, IReadOnlyList<SliceEndpoint>? previous, bool remember)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartArray, "endpoints");
        List<SliceEndpoint> endpoints = t_endpoints ??= [];
        endpoints.Clear();
        bool identical = previous is not null; // every endpoint so far is the held one at the same index
        int shift = 0;                          // held index minus new index, from the last endpoint recognised
        while (true)
        {
            // The first endpoint is always tokenized: only after a value does the reader's state fit the skip.
            if (window.SkipsKnownEndpoints && previous is not null && endpoints.Count > 0
                && TrySkipKnownEndpoint(ref reader, ref window, previous, endpoints.Count, ref shift) is { } known)
            {
                identical = identical && endpoints.Count < previous.Count && ReferenceEquals(previous[endpoints.Count], known);
                endpoints.Add(known);
                continue;
            }

            if (!reader.Read() || reader.TokenType == JsonTokenType.EndArray)
            {
                break;
            }

            Expect(ref reader, JsonTokenType.StartObject, "an endpoint");
            int start = window.Start + (int)reader.TokenStartIndex;
            string? address = null;
            bool? ready = null, serving = null, terminating = null;
            string? nodeName = null, zone = null;
            int heldIndex = endpoints.Count + shift;
            SliceEndpoint? before = previous is not null && (uint)heldIndex < (uint)previous.Count ? previous[heldIndex] : null;
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

            ReadOnlySpan<byte> json = window.Bytes[start..(window.Start + (int)reader.BytesConsumed)];
            SliceEndpoint endpoint;
            if (before is not null && before.Matches(address, ready, serving, terminating, nodeName, zone, forZones, forNodes))
            {
                endpoint = before;
            }
            else
            {
                endpoint = new SliceEndpoint(address, ready, serving, terminating, nodeName, zone, forZones, forNodes);
            }

            if (remember)
            {
                endpoint.RememberJson(json);
            }

            identical = identical && endpoints.Count < previous!.Count && ReferenceEquals(previous[endpoints.Count], endpoint);
            endpoints.Add(endpoint);
        }

        if (identical && endpoints.Count == previous!.Count)
        {
            endpoints.Clear();
            return previous;
        }

        SliceEndpoint[] result = [.. endpoints];
        endpoints.Clear();
        return result;
    }

    /// <summary>
    /// After an endpoint's EndObject: when the next array element is, byte for byte, the JSON a held endpoint was read
    /// from, steps over it without tokenizing and returns that endpoint; otherwise leaves the reader where it was.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Sound because validity and meaning of a complete JSON object do not depend on what surrounds it: the same bytes
    /// were accepted by <see cref="Utf8JsonReader"/> and parsed into that endpoint before. The held JSON was read at
    /// this depth (a watch event) or deeper (a LIST item), so <see cref="JsonReaderOptions.MaxDepth"/> holds too. Only
    /// the separator before the element (JSON whitespace, one comma) is checked here; the reader restarts after the
    /// element with the state it had after the previous one (an EndObject inside the same array, which is exactly
    /// the state after the skipped one) and checks everything that follows.
    /// </para>
    /// <para>
    /// Candidates: the held endpoint at the same place (shifted by earlier insertions and removals), then the one
    /// after it (an endpoint was removed before), then the one before it (one was inserted). A miss costs a
    /// comparison that stops at the first differing byte. Error positions reported by the restarted reader do not
    /// count the bytes stepped over.
    /// </para>
    /// </remarks>
    private static SliceEndpoint? TrySkipKnownEndpoint(
        ref Utf8JsonReader reader, scoped ref ReaderWindow window, IReadOnlyList<SliceEndpoint> previous, int index, ref int shift)
    {
        int position = window.Start + (int)reader.BytesConsumed;
        ReadOnlySpan<byte> bytes = window.Bytes;
        position = SkipJsonWhitespace(bytes, position);
        if (position >= bytes.Length || bytes[position] != (byte)',')
        {
            return null;
        }

        position = SkipJsonWhitespace(bytes, position + 1);
        if (position >= bytes.Length || bytes[position] != (byte)'{')
        {
            return null;
        }

        ReadOnlySpan<byte> element = bytes[position..];
        for (int attempt = 0; attempt < 3; attempt++)
        {
            int delta = attempt switch { 0 => 0, 1 => 1, _ => -1 };
            int held = index + shift + delta;
            if ((uint)held >= (uint)previous.Count || previous[held].Json is not { } json || !element.StartsWith(json))
            {
                continue;
            }

            int resume = position + json.Length;
            reader = new Utf8JsonReader(bytes[resume..], isFinalBlock: true, reader.CurrentState);
            window.Start = resume;
            shift += delta;
            t_endpointsRecognised++;
            return previous[held];
        }

        return null;
    }

    private static int SkipJsonWhitespace(ReadOnlySpan<byte> bytes, int position)
    {
        while (position < bytes.Length && bytes[position] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            position++;
        }

        return position;
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
        public string? ResourceVersion;            // when read without a sink (LIST items, Status bodies)
        public ResourceVersionBuffer? ResourceVersionSink;
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
        public OverCapacity OverCapacity;   // legacy core/v1 Endpoints only

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

            return new(Name!, ResourceVersionText, AddressType, ports, endpoints);
        }

        public readonly string? ResourceVersionText => ResourceVersionSink is { } sink ? sink.Text : ResourceVersion;

        public readonly ApiStatus ToStatus() => new(Code, Reason, Message);
    }

    /// <summary>
    /// The bytes a reader runs over, and where the current reader starts in them: past an endpoint recognised byte
    /// for byte, the reader is restarted after it, so an absolute position is <see cref="Start"/> plus the reader's own.
    /// </summary>
    private ref struct ReaderWindow(ReadOnlySpan<byte> bytes, bool skipsKnownEndpoints)
    {
        public readonly ReadOnlySpan<byte> Bytes = bytes;

        /// <summary>True in a watch event against held slices (never in a LIST: see <see cref="TrySkipKnownEndpoint"/>).</summary>
        public readonly bool SkipsKnownEndpoints = skipsKnownEndpoints;

        public int Start;
    }
}
