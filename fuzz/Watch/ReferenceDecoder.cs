using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace LockFree.Balancing.Fuzz.Watch;

/// <summary>
/// A deliberately simple reading of a watch stream: split the whole byte array into lines, parse each with
/// <see cref="JsonDocument"/> (a DOM, unlike the adapter's forward-only <c>Utf8JsonReader</c> pass), and read the
/// fields the way the adapter's README and the EndpointSlice API describe them.
/// </summary>
/// <remarks>
/// Field semantics, restated: properties are read in document order and a repeated property overrides the earlier
/// one; <c>type</c> must be a string; <c>metadata.name</c>, <c>nodeName</c>, <c>zone</c>, port <c>name</c> and
/// <c>protocol</c> are a string or null, anything else is invalid; conditions are true, false or null, anything else is
/// invalid; <c>endpoints</c>/<c>ports</c> are an array of objects or null; a port number outside 1–65535 or not a
/// number drops that port entry (null is the every-port wildcard); every other field is ignored whatever its type.
/// </remarks>
internal static class ReferenceDecoder
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    private static readonly string[] EventTypes = ["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"];

    private static readonly string[] AddressTypes = ["IPv4", "IPv6", "FQDN"];

    // The names the adapter compares each property name with, in its order, per kind of object.
    private static readonly string[] EventFields = ["type", "object"];
    private static readonly string[] ObjectFieldNames = ["metadata", "addressType", "endpoints", "ports", "kind", "code", "reason", "message"];
    private static readonly string[] MetadataFields = ["name", "resourceVersion", "annotations"];
    // In the parser's order (KubernetesJson.Fields AnnotationNames): the streaming-list marker and the legacy over-capacity mark.
    private static readonly string[] AnnotationFields = ["k8s.io/initial-events-end", "endpoints.kubernetes.io/over-capacity"];
    private static readonly string[] EndpointFields = ["addresses", "conditions", "nodeName", "zone", "hints"];
    private static readonly string[] ConditionFields = ["ready", "serving", "terminating"];
    private static readonly string[] HintFields = ["forZones", "forNodes"];
    private static readonly string[] PortFields = ["name", "port", "protocol"];
    private static readonly string[] NameFields = ["name"];
    private static readonly string[] ListFields = ["metadata", "items"];
    private static readonly string[] ListMetadataFields = ["resourceVersion", "continue"];

    public static List<RefStep> Read(ReadOnlySpan<byte> stream, int maxLineBytes)
    {
        var steps = new List<RefStep>();
        int position = 0;
        while (true)
        {
            int newline = stream[position..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                ReadOnlySpan<byte> rest = stream[position..];

                // The partial line is checked against the limit (+1 for a '\r') as it arrives.
                if (rest.Length > maxLineBytes + 1)
                {
                    steps.Add(new RefStep(RefStepKind.TooLarge));
                }
                else if (IsBlank(rest))
                {
                    steps.Add(new RefStep(RefStepKind.End));
                }
                else if (rest.Length <= maxLineBytes && LooksLikeObject(rest))
                {
                    // A last event without its '\n' is accepted when it is a whole object.
                    RefStep last = Decode(rest);
                    steps.Add(last);
                    if (last.Kind == RefStepKind.Event)
                    {
                        steps.Add(new RefStep(RefStepKind.End));
                    }
                }
                else
                {
                    steps.Add(new RefStep(RefStepKind.CutMidEvent));
                }

                return steps;
            }

            ReadOnlySpan<byte> line = stream.Slice(position, newline);
            position += newline + 1;
            if (line.Length > 0 && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (line.Length > maxLineBytes)
            {
                steps.Add(new RefStep(RefStepKind.TooLarge));
                return steps;
            }

            if (IsBlank(line))
            {
                continue;
            }

            RefStep step = Decode(line);
            steps.Add(step);
            if (step.Kind != RefStepKind.Event)
            {
                return steps;
            }
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.IndexOfAnyExcept(" \t\r\n"u8) < 0;

    private static bool LooksLikeObject(ReadOnlySpan<byte> line)
    {
        ReadOnlySpan<byte> trimmed = line.Trim(" \t\r"u8);
        return trimmed.Length >= 2 && trimmed[0] == (byte)'{' && trimmed[^1] == (byte)'}';
    }

    private static RefStep Decode(ReadOnlySpan<byte> line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line.ToArray(), DocumentOptions);
        }
        catch (JsonException ex)
        {
            return new RefStep(RefStepKind.Invalid, Why: "not JSON: " + ex.Message);
        }

        using (document)
        {
            try
            {
                return DecodeEvent(document.RootElement);
            }
            catch (InvalidDataException ex)
            {
                return new RefStep(RefStepKind.Invalid, Why: ex.Message);
            }
            catch (InvalidOperationException ex)
            {
                return new RefStep(RefStepKind.Invalid, Why: "a string is not valid text: " + ex.Message);
            }
        }
    }

    private static RefStep DecodeEvent(JsonElement root)
    {
        Require(root.ValueKind == JsonValueKind.Object, "the event is not an object");
        string? type = null;
        ObjectFields? fields = null;
        foreach (JsonProperty property in root.EnumerateObject())
        {
            CheckName(property, EventFields);
            if (property.NameEquals("type"u8))
            {
                Require(property.Value.ValueKind == JsonValueKind.String, "type is not a string");
                // Compared as bytes, not decoded: a type that is not valid text is just an unknown type.
                type = TextMatch(property.Value, EventTypes) ?? "UNKNOWN";
            }
            else if (property.NameEquals("object"u8) && property.Value.ValueKind == JsonValueKind.Object)
            {
                fields = ReadObject(property.Value);
            }
        }

        Require(type is not null, "no type");
        switch (type)
        {
            case "ADDED" or "MODIFIED" or "DELETED":
                Require(fields?.Name is not null, "no object with metadata.name");
                return new RefStep(RefStepKind.Event, type, new RefSlice(fields!.Name!, fields.AddressType, [.. fields.Ports], [.. fields.Endpoints]));
            case "ERROR":
                return new RefStep(RefStepKind.Error, type);
            default:
                return new RefStep(RefStepKind.Event, type);
        }
    }

    /// <summary>
    /// Reads a LIST page: <c>metadata.resourceVersion</c> and <c>metadata.continue</c> (a string, else absent; an empty
    /// continue token means the last page), and <c>items</c> (null, or an array of objects each with a name).
    /// </summary>
    /// <returns>The page, or <see langword="null"/> with <paramref name="why"/> when it is invalid.</returns>
    public static (string? ResourceVersion, string? Continue, List<RefSlice> Items)? ReadList(ReadOnlySpan<byte> body, out string? why)
    {
        why = null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(body.ToArray(), DocumentOptions);
            JsonElement root = document.RootElement;
            Require(root.ValueKind == JsonValueKind.Object, "the list is not an object");
            string? resourceVersion = null, continueToken = null;
            var items = new List<RefSlice>();
            foreach (JsonProperty property in root.EnumerateObject())
            {
                CheckName(property, ListFields);
                if (property.NameEquals("metadata"u8) && property.Value.ValueKind == JsonValueKind.Object)
                {
                    foreach (JsonProperty meta in property.Value.EnumerateObject())
                    {
                        CheckName(meta, ListMetadataFields);
                        if (meta.NameEquals("resourceVersion"u8))
                        {
                            resourceVersion = meta.Value.ValueKind == JsonValueKind.String ? meta.Value.GetString() : null;
                        }
                        else if (meta.NameEquals("continue"u8))
                        {
                            continueToken = meta.Value.ValueKind == JsonValueKind.String ? meta.Value.GetString() : null;
                        }
                    }
                }
                else if (property.NameEquals("items"u8) && property.Value.ValueKind != JsonValueKind.Null)
                {
                    Require(property.Value.ValueKind == JsonValueKind.Array, "items is not an array");
                    foreach (JsonElement item in property.Value.EnumerateArray())
                    {
                        Require(item.ValueKind == JsonValueKind.Object, "an item is not an object");
                        ObjectFields fields = ReadObject(item);
                        Require(fields.Name is not null, "an item has no metadata.name");
                        items.Add(new RefSlice(fields.Name!, fields.AddressType, [.. fields.Ports], [.. fields.Endpoints]));
                    }
                }
            }

            return (resourceVersion, string.IsNullOrEmpty(continueToken) ? null : continueToken, items);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException)
        {
            why = ex.Message;
            return null;
        }
    }

    private sealed class ObjectFields
    {
        public string? Name;
        public string AddressType = "Unknown";
        public List<RefPort> Ports = [];
        public List<RefEndpoint> Endpoints = [];
    }

    private static ObjectFields ReadObject(JsonElement obj)
    {
        var fields = new ObjectFields();
        foreach (JsonProperty property in obj.EnumerateObject())
        {
            CheckName(property, ObjectFieldNames);
            JsonElement value = property.Value;
            if (property.NameEquals("metadata"u8))
            {
                if (value.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                foreach (JsonProperty meta in value.EnumerateObject())
                {
                    CheckName(meta, MetadataFields);
                    if (meta.NameEquals("name"u8))
                    {
                        fields.Name = NullableString(meta.Value, "metadata.name");
                    }
                    else if (meta.NameEquals("resourceVersion"u8) && meta.Value.ValueKind == JsonValueKind.String)
                    {
                        _ = meta.Value.GetString(); // read (and so validated) even though the merge ignores it
                    }
                    else if (meta.NameEquals("annotations"u8) && meta.Value.ValueKind == JsonValueKind.Object)
                    {
                        foreach (JsonProperty annotation in meta.Value.EnumerateObject())
                        {
                            CheckName(annotation, AnnotationFields); // searched for the initial-events-end and over-capacity marks
                            if (annotation.NameEquals(AnnotationFields[0]) && annotation.Value.ValueKind == JsonValueKind.String)
                            {
                                _ = TextMatch(annotation.Value, ["true"]);
                            }

                            if (annotation.NameEquals(AnnotationFields[1]) && annotation.Value.ValueKind == JsonValueKind.String)
                            {
                                _ = TextMatch(annotation.Value, ["truncated"]);
                            }
                        }
                    }
                }
            }
            else if (property.NameEquals("addressType"u8))
            {
                fields.AddressType = value.ValueKind != JsonValueKind.String ? "Unknown" : TextMatch(value, AddressTypes) ?? "Unknown";
            }
            else if (property.NameEquals("endpoints"u8))
            {
                fields.Endpoints = value.ValueKind == JsonValueKind.Null ? [] : ReadEndpoints(value);
            }
            else if (property.NameEquals("ports"u8))
            {
                fields.Ports = value.ValueKind == JsonValueKind.Null ? [] : ReadPorts(value);
            }
            else if (property.NameEquals("kind"u8) && value.ValueKind == JsonValueKind.String)
            {
                _ = TextMatch(value, ["Status"]);
            }
            else if (property.NameEquals("reason"u8) || property.NameEquals("message"u8))
            {
                if (value.ValueKind == JsonValueKind.String)
                {
                    _ = value.GetString(); // Status text is decoded even on a slice
                }
            }
        }

        return fields;
    }

    private static List<RefEndpoint> ReadEndpoints(JsonElement array)
    {
        Require(array.ValueKind == JsonValueKind.Array, "endpoints is not an array");
        var endpoints = new List<RefEndpoint>();
        foreach (JsonElement item in array.EnumerateArray())
        {
            Require(item.ValueKind == JsonValueKind.Object, "an endpoint is not an object");
            string? address = null, node = null, zone = null;
            bool? ready = null, serving = null, terminating = null;
            string[] forZones = [], forNodes = [];
            foreach (JsonProperty property in item.EnumerateObject())
            {
                CheckName(property, EndpointFields);
                JsonElement value = property.Value;
                if (property.NameEquals("addresses"u8))
                {
                    address = null;
                    if (value.ValueKind == JsonValueKind.Array)
                    {
                        foreach (JsonElement candidate in value.EnumerateArray())
                        {
                            if (candidate.ValueKind == JsonValueKind.String)
                            {
                                address = candidate.GetString();
                                break; // the first address stands for the pod; the others are fungible
                            }
                        }
                    }
                }
                else if (property.NameEquals("conditions"u8) && value.ValueKind == JsonValueKind.Object)
                {
                    foreach (JsonProperty condition in value.EnumerateObject())
                    {
                        CheckName(condition, ConditionFields);
                        if (condition.NameEquals("ready"u8))
                        {
                            ready = Condition(condition.Value);
                        }
                        else if (condition.NameEquals("serving"u8))
                        {
                            serving = Condition(condition.Value);
                        }
                        else if (condition.NameEquals("terminating"u8))
                        {
                            terminating = Condition(condition.Value);
                        }
                    }
                }
                else if (property.NameEquals("nodeName"u8))
                {
                    node = NullableString(value, "nodeName");
                }
                else if (property.NameEquals("zone"u8))
                {
                    zone = NullableString(value, "zone");
                }
                else if (property.NameEquals("hints"u8) && value.ValueKind == JsonValueKind.Object)
                {
                    foreach (JsonProperty hint in value.EnumerateObject())
                    {
                        CheckName(hint, HintFields);
                        if (hint.NameEquals("forZones"u8))
                        {
                            forZones = Names(hint.Value);
                        }
                        else if (hint.NameEquals("forNodes"u8))
                        {
                            forNodes = Names(hint.Value);
                        }
                    }
                }
            }

            endpoints.Add(new RefEndpoint(address, ready, serving, terminating, node, zone, forZones, forNodes));
        }

        return endpoints;
    }

    private static List<RefPort> ReadPorts(JsonElement array)
    {
        Require(array.ValueKind == JsonValueKind.Array, "ports is not an array");
        var ports = new List<RefPort>();
        foreach (JsonElement item in array.EnumerateArray())
        {
            Require(item.ValueKind == JsonValueKind.Object, "a port is not an object");
            string? name = null;
            int? number = null;
            bool malformed = false;
            foreach (JsonProperty property in item.EnumerateObject())
            {
                CheckName(property, PortFields);
                JsonElement value = property.Value;
                if (property.NameEquals("name"u8))
                {
                    name = NullableString(value, "port name");
                }
                else if (property.NameEquals("port"u8))
                {
                    if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) && n is >= 1 and <= 65535)
                    {
                        number = n;
                    }
                    else
                    {
                        // null is the API's every-port wildcard; anything else marks the entry malformed, and a later
                        // valid number does not clear that mark (the entry stays dropped).
                        number = null;
                        malformed = value.ValueKind != JsonValueKind.Null;
                    }
                }
                else if (property.NameEquals("protocol"u8))
                {
                    _ = NullableString(value, "protocol");
                }
            }

            if (!malformed)
            {
                ports.Add(new RefPort(name, number));
            }
        }

        return ports;
    }

    private static string[] Names(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var names = new List<string>();
        foreach (JsonElement item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            foreach (JsonProperty property in item.EnumerateObject())
            {
                CheckName(property, NameFields);
                if (property.NameEquals("name"u8) && property.Value.ValueKind == JsonValueKind.String)
                {
                    names.Add(property.Value.GetString()!);
                }
            }
        }

        return [.. names];
    }

    /// <summary>
    /// How an escaped property name compares is System.Text.Json's business, not the adapter's: an escaped lone
    /// surrogate can make the comparison throw, depending on the lengths involved. The reference asks the same
    /// primitive (<see cref="Utf8JsonReader.ValueTextEquals(ReadOnlySpan{byte})"/>) the same questions, in the order the
    /// adapter asks them; an exception makes the event invalid.
    /// </summary>
    private static void CheckName(JsonProperty property, string[] compared)
    {
        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8PropertyName(property);
        if (!raw.Contains((byte)'\\'))
        {
            return; // unescaped names are compared byte for byte and never throw
        }

        byte[] quoted = [(byte)'"', .. raw, (byte)'"'];
        var reader = new Utf8JsonReader(quoted);
        reader.Read();
        foreach (string candidate in compared)
        {
            if (reader.ValueTextEquals(Encoding.UTF8.GetBytes(candidate)))
            {
                return;
            }
        }
    }

    /// <summary>
    /// The first of <paramref name="candidates"/> a string value equals, compared the way the adapter compares keywords
    /// (<see cref="Utf8JsonReader.ValueTextEquals(ReadOnlySpan{byte})"/>, which can throw on an escaped lone surrogate).
    /// </summary>
    private static string? TextMatch(JsonElement value, string[] candidates)
    {
        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8Value(value); // with its quotes
        if (!raw.Contains((byte)'\\'))
        {
            return Array.Find(candidates, candidate => value.ValueEquals(Encoding.UTF8.GetBytes(candidate)));
        }

        var reader = new Utf8JsonReader(raw);
        reader.Read();
        foreach (string candidate in candidates)
        {
            if (reader.ValueTextEquals(Encoding.UTF8.GetBytes(candidate)))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool? Condition(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null => null,
        _ => throw new InvalidDataException("a condition is not a boolean or null"),
    };

    private static string? NullableString(JsonElement value, string what) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => value.GetString(),
        _ => throw new InvalidDataException(what + " is not a string or null"),
    };

    private static void Require(bool condition, string why)
    {
        if (!condition)
        {
            throw new InvalidDataException(why);
        }
    }
}
