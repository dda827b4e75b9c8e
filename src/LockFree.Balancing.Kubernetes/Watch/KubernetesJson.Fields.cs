using System.Runtime.CompilerServices;
using System.Text.Json;

namespace LockFree.Balancing.Kubernetes.Watch;

internal static partial class KubernetesJson
{
    // The longest name Classify knows ("k8s.io/initial-events-end"), and the most bytes that can spell it escaped
    // (every byte as \uXXXX): a longer escaped name cannot unescape to a known one.
    private const int LongestFieldName = 25;
    private const int LongestEscapedFieldName = LongestFieldName * 6;

    /// <summary>The property names the parser reads, whatever object they occur in; everything else is <see cref="Other"/>.</summary>
    internal enum Field
    {
        Other,
        Type,
        Object,
        Metadata,
        Items,
        Continue,
        ResourceVersion,
        Name,
        Annotations,
        InitialEventsEnd,
        Kind,
        Code,
        Reason,
        Message,
        AddressType,
        Endpoints,
        Ports,
        Subsets,
        Addresses,
        Conditions,
        Ready,
        Serving,
        Terminating,
        NodeName,
        Zone,
        Hints,
        ForZones,
        ForNodes,
        Port,
        Protocol,
    }

    /// <summary>
    /// Advances to the next property name of the current object and says which known field it is; false at the object's end.
    /// </summary>
    /// <remarks>
    /// PERF: one classification per property (by length, then the bytes) replaces a chain of
    /// <see cref="Utf8JsonReader.ValueTextEquals(ReadOnlySpan{byte})"/> calls per property; a skipped property such as
    /// <c>targetRef</c> used to be compared with every name its object knows. Names written with escapes (legal JSON,
    /// e.g. <c>"addr\u0065sses"</c>) are unescaped first and then classified the same way.
    /// </remarks>
    private static bool ReadProperty(ref Utf8JsonReader reader, out Field field)
    {
        if (!ReadProperty(ref reader))
        {
            field = Field.Other;
            return false;
        }

        // The reader is built over one contiguous span, so ValueSpan always holds the whole (raw) name.
        field = reader.ValueIsEscaped ? ClassifyEscaped(ref reader) : Classify(reader.ValueSpan);
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Field ClassifyEscaped(ref Utf8JsonReader reader)
    {
        if (reader.ValueSpan.Length > LongestEscapedFieldName)
        {
            return Field.Other;
        }

        Span<byte> name = stackalloc byte[LongestEscapedFieldName];
        // A lone surrogate escape (\ud800) throws InvalidOperationException here, as it does from ValueTextEquals and
        // JsonDocument's NameEquals: the event is rejected as invalid, the same as System.Text.Json's own comparisons do.
        int length = reader.CopyString(name); // unescaped is never longer than escaped
        return Classify(name[..length]);
    }

    /// <summary>The field a raw (unescaped) UTF-8 property name is.</summary>
    internal static Field Classify(ReadOnlySpan<byte> name) => name.Length switch
    {
        4 => name.SequenceEqual("name"u8) ? Field.Name
            : name.SequenceEqual("zone"u8) ? Field.Zone
            : name.SequenceEqual("type"u8) ? Field.Type
            : name.SequenceEqual("kind"u8) ? Field.Kind
            : name.SequenceEqual("port"u8) ? Field.Port
            : name.SequenceEqual("code"u8) ? Field.Code
            : Field.Other,
        5 => name.SequenceEqual("ready"u8) ? Field.Ready
            : name.SequenceEqual("ports"u8) ? Field.Ports
            : name.SequenceEqual("hints"u8) ? Field.Hints
            : name.SequenceEqual("items"u8) ? Field.Items
            : Field.Other,
        6 => name.SequenceEqual("object"u8) ? Field.Object
            : name.SequenceEqual("reason"u8) ? Field.Reason
            : Field.Other,
        7 => name.SequenceEqual("serving"u8) ? Field.Serving
            : name.SequenceEqual("message"u8) ? Field.Message
            : name.SequenceEqual("subsets"u8) ? Field.Subsets
            : Field.Other,
        8 => name.SequenceEqual("nodeName"u8) ? Field.NodeName
            : name.SequenceEqual("metadata"u8) ? Field.Metadata
            : name.SequenceEqual("protocol"u8) ? Field.Protocol
            : name.SequenceEqual("forZones"u8) ? Field.ForZones
            : name.SequenceEqual("forNodes"u8) ? Field.ForNodes
            : name.SequenceEqual("continue"u8) ? Field.Continue
            : Field.Other,
        9 => name.SequenceEqual("addresses"u8) ? Field.Addresses
            : name.SequenceEqual("endpoints"u8) ? Field.Endpoints
            : Field.Other,
        10 => name.SequenceEqual("conditions"u8) ? Field.Conditions : Field.Other,
        11 => name.SequenceEqual("terminating"u8) ? Field.Terminating
            : name.SequenceEqual("addressType"u8) ? Field.AddressType
            : name.SequenceEqual("annotations"u8) ? Field.Annotations
            : Field.Other,
        15 => name.SequenceEqual("resourceVersion"u8) ? Field.ResourceVersion : Field.Other,
        LongestFieldName => name.SequenceEqual("k8s.io/initial-events-end"u8) ? Field.InitialEventsEnd : Field.Other,
        _ => Field.Other,
    };
}
