using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace LockFree.Balancing;

/// <summary>
/// The <c>lockfree.pick</c> span every integration starts around one pick (the core's choice and the count it reserves),
/// on its own <see cref="ActivitySource"/> (<c>LockFree.Balancing.Http</c>, <c>.Grpc</c>, <c>.Yarp</c>): one spelling of
/// the span and its attributes for all of them, by OpenTelemetry's conventions for instrumentation libraries.
/// </summary>
/// <remarks>
/// <para>
/// The span is <see cref="ActivityKind.Internal"/>, a child of <see cref="Activity.Current"/>, and ends before the
/// request is sent: the pick's own time, its outcome and the chosen pod (<c>network.peer.address</c>,
/// <c>network.peer.port</c>), the Service (<c>server.address</c>) and the picker (<c>lockfree.picker</c>). A failed
/// pick has status <see cref="ActivityStatusCode.Error"/>, <c>error.type</c> (<see cref="ErrorTypeOf"/>) and the
/// reason as the status description. Never a key: keys are unbounded and may be personal data.
/// </para>
/// <para>
/// PERF: <see cref="Start"/> is one <see cref="ActivitySource.HasListeners"/> read when nobody listens to the source
/// (inlined; the rest is a separate method). When a listener does not sample the pick, nothing is created. A sampled
/// pick allocates the <see cref="Activity"/> and its tags (measured in the integrations' tests); attributes are set
/// only on a span that records (<see cref="Activity.IsAllDataRequested"/>).
/// </para>
/// </remarks>
internal static class PickSpan
{
    public const string Name = "lockfree.pick";
    public const string ServerAddressTag = "server.address";
    public const string PeerAddressTag = "network.peer.address";
    public const string PeerPortTag = "network.peer.port";
    public const string OutcomeTag = "lockfree.pick.outcome";
    public const string PickerTag = "lockfree.picker";
    public const string RetryTag = "lockfree.pick.retry";
    public const string QueuedTag = "lockfree.pick.queued";
    public const string ErrorTypeTag = "error.type";

    /// <summary><c>error.type</c> of a pick that found no other endpoint than the one whose connection just failed.</summary>
    public const string NoOtherEndpoint = "no_other_endpoint";

    /// <summary>Starts the span of a pick when <paramref name="source"/> is listened to and the pick is sampled; otherwise <see langword="null"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activity? Start(ActivitySource source)
        => source.HasListeners() ? StartListened(source) : null;

    /// <summary>Ends <paramref name="span"/> with the pick: <paramref name="endpoint"/> chosen, <paramref name="outcome"/> (a <see cref="PickOutcomeTag"/> value).</summary>
    /// <param name="span">From <see cref="Start"/>.</param>
    /// <param name="serverAddress">The Service host the request named; <see langword="null"/> when the integration has none (YARP names its cluster instead).</param>
    /// <param name="picker">The picker or policy name, as on the integration's metrics.</param>
    /// <param name="endpoint">The chosen endpoint.</param>
    /// <param name="outcome">How it was chosen.</param>
    /// <param name="retry">The pick replaces a try that failed on another endpoint.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Picked(Activity span, string? serverAddress, string picker, Endpoint endpoint, string outcome, bool retry = false)
        => Picked(span, serverAddress, picker, endpoint.Host, endpoint.Port, outcome, retry);

    /// <summary>Ends <paramref name="span"/> with the pick of the pod at <paramref name="host"/>:<paramref name="port"/>.</summary>
    /// <param name="span">From <see cref="Start"/>.</param>
    /// <param name="serverAddress">The Service host the request named, or <see langword="null"/>.</param>
    /// <param name="picker">The picker or policy name, as on the integration's metrics.</param>
    /// <param name="host">The chosen pod's address.</param>
    /// <param name="port">The chosen pod's port.</param>
    /// <param name="outcome">How it was chosen.</param>
    /// <param name="retry">The pick replaces a try that failed on another endpoint.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Picked(Activity span, string? serverAddress, string picker, string host, int port, string outcome, bool retry = false)
    {
        if (span.IsAllDataRequested)
        {
            Common(span, serverAddress, picker, retry);
            span.SetTag(PeerAddressTag, host);
            span.SetTag(PeerPortTag, port);
            span.SetTag(OutcomeTag, outcome);
        }

        span.Stop();
    }

    /// <summary>
    /// Ends <paramref name="span"/> as a pick that chose nothing yet: the call waits for a connection (gRPC's queued
    /// pick) and is picked again, with a span of its own, when the next picker is published. Not an error.
    /// </summary>
    /// <param name="span">From <see cref="Start"/>.</param>
    /// <param name="serverAddress">The Service host, or <see langword="null"/>.</param>
    /// <param name="picker">The picker or policy name.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Queued(Activity span, string? serverAddress, string picker)
    {
        if (span.IsAllDataRequested)
        {
            Common(span, serverAddress, picker, retry: false);
            span.SetTag(OutcomeTag, PickOutcomeTag.None);
            span.SetTag(QueuedTag, true);
        }

        span.Stop();
    }

    /// <summary>Ends <paramref name="span"/> as a failed pick: nothing could take the request.</summary>
    /// <param name="span">From <see cref="Start"/>.</param>
    /// <param name="serverAddress">The Service host, or <see langword="null"/>.</param>
    /// <param name="picker">The picker or policy name.</param>
    /// <param name="errorType">A low-cardinality <c>error.type</c>: <see cref="ErrorTypeOf"/>, <see cref="NoOtherEndpoint"/>, or an exception's type name.</param>
    /// <param name="description">Why, for a person reading the trace (the status description).</param>
    /// <param name="retry">The pick was to replace a try that failed on another endpoint.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Failed(Activity span, string? serverAddress, string picker, string errorType, string description, bool retry = false)
    {
        if (span.IsAllDataRequested)
        {
            Common(span, serverAddress, picker, retry);
            span.SetTag(OutcomeTag, PickOutcomeTag.None);
            span.SetTag(ErrorTypeTag, errorType);
            span.SetStatus(ActivityStatusCode.Error, description);
        }

        span.Stop();
    }

    /// <summary><c>error.type</c> for <paramref name="reason"/>, in OpenTelemetry's snake case: <c>no_endpoints</c>, <c>all_ejected</c>.</summary>
    public static string ErrorTypeOf(NoEndpointsReason reason) => reason switch
    {
        NoEndpointsReason.AllEjected => "all_ejected",
        _ => "no_endpoints",
    };

    /// <summary>The status description for <paramref name="reason"/> when the integration has no more to say.</summary>
    public static string DescriptionOf(NoEndpointsReason reason) => reason switch
    {
        NoEndpointsReason.AllEjected => "every endpoint is ejected by outlier detection (consecutive failures)",
        _ => "no endpoint is available: the set is empty or every endpoint has weight 0",
    };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Activity? StartListened(ActivitySource source) => source.StartActivity(Name, ActivityKind.Internal);

    private static void Common(Activity span, string? serverAddress, string picker, bool retry)
    {
        if (serverAddress is not null)
        {
            span.SetTag(ServerAddressTag, serverAddress);
        }

        span.SetTag(PickerTag, picker);
        if (retry)
        {
            span.SetTag(RetryTag, true);
        }
    }
}
