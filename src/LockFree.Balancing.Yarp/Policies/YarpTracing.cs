using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// The YARP policies' <see cref="ActivitySource"/>, named like their meter (<c>LockFree.Balancing.Yarp</c>): each pick
/// as a <c>lockfree.pick</c> span (see <see cref="PickSpan"/>), a child of the proxied request's server span, when an
/// application listens, e.g. OpenTelemetry's <c>AddSource("LockFree.Balancing.*")</c>.
/// </summary>
/// <remarks>
/// <para>
/// YARP's cluster is the logical target here (its destinations may come from several Services, or none), so the span
/// names the cluster (<c>lockfree.yarp.cluster</c>, as the picks counter does) instead of <c>server.address</c>; the
/// chosen destination's host and port are <c>network.peer.address</c> and <c>network.peer.port</c>. YARP picks the
/// lone destination of a one-destination cluster itself, without calling a policy: no span then.
/// </para>
/// <para>Process-wide, as activity sources are. PERF: a pick reads <see cref="ActivitySource.HasListeners"/> once.</para>
/// </remarks>
internal static class YarpTracing
{
    public const string SourceName = YarpMetrics.MeterName;

    public static readonly ActivitySource Source = new(SourceName, typeof(YarpTracing).Assembly.GetName().Version?.ToString());

    /// <summary>Ends <paramref name="span"/> with the chosen destination's endpoint.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Picked(Activity span, string cluster, string policy, Endpoint endpoint, PickOutcome outcome)
    {
        TagCluster(span, cluster);
        PickSpan.Picked(span, serverAddress: null, policy, endpoint, PickOutcomeTag.Of(outcome));
    }

    /// <summary>Ends <paramref name="span"/> as a failed pick (YARP answers 503).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Failed(Activity span, string cluster, string policy, string errorType, string description)
    {
        TagCluster(span, cluster);
        PickSpan.Failed(span, serverAddress: null, policy, errorType, $"cluster '{cluster}', policy '{policy}': {description}");
    }

    private static void TagCluster(Activity span, string cluster)
    {
        if (span.IsAllDataRequested)
        {
            span.SetTag(YarpMetrics.ClusterTag, cluster);
        }
    }
}
