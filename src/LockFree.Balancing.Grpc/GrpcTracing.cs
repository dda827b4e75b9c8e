using System.Diagnostics;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// The gRPC policies' <see cref="ActivitySource"/>, named like their meter (<c>LockFree.Balancing.Grpc</c>): each pick
/// in grpc-dotnet's picker as a <c>lockfree.pick</c> span (see <see cref="PickSpan"/>), a child of grpc-dotnet's call
/// span, when an application listens, e.g. OpenTelemetry's <c>AddSource("LockFree.Balancing.*")</c>.
/// </summary>
/// <remarks>
/// Process-wide, as activity sources are. PERF: a pick reads <see cref="ActivitySource.HasListeners"/> once; an
/// <see cref="Activity"/> exists only for a pick a listener samples. The call span keeps the pod as well
/// (<see cref="GrpcMetrics"/>), tagged after the pick span has ended.
/// </remarks>
internal static class GrpcTracing
{
    public const string SourceName = GrpcMetrics.MeterName;

    public static readonly ActivitySource Source = new(SourceName, typeof(GrpcTracing).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// <c>server.address</c> from the <c>kubernetes</c> resolver's authority (<c>orders.shop</c>, or what
    /// <c>KubernetesGrpcBalancingOptions.Authority</c> returned): its host, without a port.
    /// </summary>
    public static string ServerAddressOf(string authority)
        => Uri.TryCreate("http://" + authority, UriKind.Absolute, out Uri? parsed) && parsed.IdnHost.Length > 0 ? parsed.IdnHost : authority;
}
