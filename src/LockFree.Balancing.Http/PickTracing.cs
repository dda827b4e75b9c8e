using System.Diagnostics;

namespace LockFree.Balancing.Http;

/// <summary>
/// The HTTP integration's <see cref="ActivitySource"/>, named like its meter (<c>LockFree.Balancing.Http</c>): each try's
/// pick as a <c>lockfree.pick</c> span (see <see cref="PickSpan"/>) when an application listens, e.g. OpenTelemetry's
/// <c>AddSource("LockFree.Balancing.*")</c>.
/// </summary>
/// <remarks>
/// Process-wide, as activity sources are (there is no factory for them): every container's handlers start their spans
/// here, each span naming its own Service. The runtime's client span keeps the pod as well (<see cref="PickTagging"/>).
/// </remarks>
internal static class PickTracing
{
    public const string SourceName = BalancingMetrics.MeterName;

    public static readonly ActivitySource Source = new(SourceName, typeof(PickTracing).Assembly.GetName().Version?.ToString());
}
