using System.Runtime.CompilerServices;
using System.Text.Json;

namespace LockFree.Balancing.Kubernetes.Watch;

internal static partial class KubernetesJson
{
    // The names each object's reader looks for, in the order the ValueTextEquals chains compared them, for ClassifyEscaped.
    private static readonly NameSought[] EventNames = [new("type"u8, Field.Type), new("object"u8, Field.Object)];
    private static readonly NameSought[] ListNames = [new("metadata"u8, Field.Metadata), new("items"u8, Field.Items)];
    private static readonly NameSought[] ListMetadataNames = [new("resourceVersion"u8, Field.ResourceVersion), new("continue"u8, Field.Continue)];
    private static readonly NameSought[] ObjectNames =
    [
        new("metadata"u8, Field.Metadata), new("addressType"u8, Field.AddressType), new("endpoints"u8, Field.Endpoints), new("ports"u8, Field.Ports),
        new("subsets"u8, Field.Subsets), new("kind"u8, Field.Kind), new("code"u8, Field.Code), new("reason"u8, Field.Reason), new("message"u8, Field.Message),
    ];

    private static readonly NameSought[] MetadataNames = [new("name"u8, Field.Name), new("resourceVersion"u8, Field.ResourceVersion), new("annotations"u8, Field.Annotations)];
    private static readonly NameSought[] AnnotationNames = [new("k8s.io/initial-events-end"u8, Field.InitialEventsEnd), new("endpoints.kubernetes.io/over-capacity"u8, Field.OverCapacity)];
    private static readonly NameSought[] EndpointNames =
    [
        new("addresses"u8, Field.Addresses), new("conditions"u8, Field.Conditions), new("nodeName"u8, Field.NodeName), new("zone"u8, Field.Zone), new("hints"u8, Field.Hints),
    ];

    private static readonly NameSought[] ConditionNames = [new("ready"u8, Field.Ready), new("serving"u8, Field.Serving), new("terminating"u8, Field.Terminating)];
    private static readonly NameSought[] HintNames = [new("forZones"u8, Field.ForZones), new("forNodes"u8, Field.ForNodes)];
    private static readonly NameSought[] PortNames = [new("name"u8, Field.Name), new("port"u8, Field.Port), new("protocol"u8, Field.Protocol)];
    private static readonly NameSought[] NameOnly = [new("name"u8, Field.Name)];

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
        OverCapacity,
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
    /// <param name="reader">The reader, inside an object.</param>
    /// <param name="field">The field the property name is.</param>
    /// <param name="namesSought">The names this object's reader looks for (used for escaped names only).</param>
    private static bool ReadProperty(ref Utf8JsonReader reader, out Field field, NameSought[] namesSought)
    {
        if (!ReadProperty(ref reader))
        {
            field = Field.Other;
            return false;
        }

        // The reader is built over one contiguous span, so ValueSpan always holds the whole (raw) name.
        field = reader.ValueIsEscaped ? ClassifyEscaped(ref reader, namesSought) : Classify(reader.ValueSpan);
        return true;
    }

    /// <summary>An escaped name: compared with each name sought by System.Text.Json itself.</summary>
    /// <remarks>
    /// Escaped names are rare, and ValueTextEquals has edge cases a re-implementation would have to copy exactly: it
    /// throws on a lone surrogate escape or invalid UTF-8 only when the lengths could match, which JsonDocument's
    /// NameEquals (the fuzzer's reference) does too. Comparing the same names in the same order keeps every event
    /// accepted or rejected exactly as before the fast path.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Field ClassifyEscaped(ref Utf8JsonReader reader, NameSought[] namesSought)
    {
        foreach (NameSought sought in namesSought)
        {
            if (reader.ValueTextEquals(sought.Name))
            {
                return sought.Field;
            }
        }

        return Field.Other;
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
        25 => name.SequenceEqual("k8s.io/initial-events-end"u8) ? Field.InitialEventsEnd : Field.Other,
        37 => name.SequenceEqual("endpoints.kubernetes.io/over-capacity"u8) ? Field.OverCapacity : Field.Other,
        _ => Field.Other,
    };

    /// <summary>A property name an object's reader looks for, and the field it is.</summary>
    private readonly struct NameSought(ReadOnlySpan<byte> name, Field field)
    {
        private readonly byte[] _name = name.ToArray();

        public ReadOnlySpan<byte> Name => _name;

        public Field Field { get; } = field;
    }
}
