namespace LockFree.Balancing.Fuzz.Watch;

/// <summary>What the reference decoder reads from one endpoint entry.</summary>
internal sealed record RefEndpoint(string? Address, bool? Ready, bool? Serving, bool? Terminating, string? NodeName, string? Zone, string[] ForZones, string[] ForNodes);

/// <summary>What the reference decoder reads from one port entry (malformed numbers already dropped).</summary>
internal sealed record RefPort(string? Name, int? Number);

/// <summary>One slice as the reference decoder reads it.</summary>
internal sealed record RefSlice(string Name, string AddressType, RefPort[] Ports, RefEndpoint[] Endpoints);

/// <summary>How a decoded line or the stream ends.</summary>
internal enum RefStepKind
{
    /// <summary>ADDED, MODIFIED, DELETED, BOOKMARK or an unknown type: the stream goes on.</summary>
    Event,

    /// <summary>An ERROR event: the watch ends (a 410 relists, anything else reconnects).</summary>
    Error,

    /// <summary>The line is not a valid event: <c>InvalidWatchDataException</c>.</summary>
    Invalid,

    /// <summary>A line over the limit: <c>WatchEventTooLargeException</c>.</summary>
    TooLarge,

    /// <summary>The stream ends inside an event: <c>EndOfStreamException</c>.</summary>
    CutMidEvent,

    /// <summary>A clean end of the stream.</summary>
    End,
}

/// <summary>One step of the reference reading of a stream.</summary>
internal sealed record RefStep(RefStepKind Kind, string? Type = null, RefSlice? Slice = null, string? Why = null);
