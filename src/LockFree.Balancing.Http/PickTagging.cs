using System.Diagnostics;

namespace LockFree.Balancing.Http;

/// <summary>
/// Puts the pick on the HTTP client span that <see cref="SocketsHttpHandler"/> creates for each try:
/// <c>network.peer.address</c> and <c>network.peer.port</c> (the pod) and <c>lockfree.pick.outcome</c>.
/// </summary>
/// <remarks>
/// <para>
/// Why a propagator: the runtime starts the client span (<c>System.Net.Http.HttpRequestOut</c>) inside
/// <see cref="SocketsHttpHandler"/>, below every <see cref="DelegatingHandler"/> (ours included), and stops it before
/// the response comes back up, so <see cref="Activity.Current"/> in our handler is the caller's span, never the
/// client span. The one place that sees the client span together with the request is the handler's
/// <see cref="SocketsHttpHandler.ActivityHeadersPropagator"/>: the runtime calls its <c>Inject</c> right after it
/// starts the span, with the request as the carrier, to write <c>traceparent</c>.
/// </para>
/// <para>
/// The handoff: our handler calls <see cref="Enter"/> just before it calls the pod's handler and <see cref="Exit"/>
/// as soon as that call returns its task. Once a <see cref="SocketsHttpHandler"/> has built its handler chain (its
/// first send), the runtime injects synchronously inside that call (the span starts before the first await of the
/// send), so the thread-static pick is the request's; the request's identity is checked, so a span is never tagged
/// with another request's pick. A handler's first sends build the chain asynchronously first: until one of its
/// sends has completed, the pick also rides on <see cref="HttpRequestMessage.Options"/> (measured: without it,
/// the first span of every pod was untagged).
/// </para>
/// <para>
/// PERF: without a span (no listener, no parent activity) the runtime never calls <c>Inject</c>; the handoff is
/// three thread-static writes. Tags are set only on a span that records (<see cref="Activity.IsAllDataRequested"/>).
/// </para>
/// </remarks>
internal sealed class PickTagging : DistributedContextPropagator
{
    public const string PeerAddressTag = "network.peer.address";
    public const string PeerPortTag = "network.peer.port";

    [ThreadStatic]
    private static HttpRequestMessage? t_request;

    [ThreadStatic]
    private static Endpoint? t_pod;

    [ThreadStatic]
    private static string? t_outcome;

    // The handoff of a handler's first sends, which the runtime starts asynchronously (it builds its handler chain
    // first): carried by the request, removed when the send ends. Allocates, but only until the handler is warm.
    private static readonly HttpRequestOptionsKey<Pick> PickOption = new("LockFree.Balancing.Http.Pick");

    private readonly DistributedContextPropagator _inner;

    private PickTagging(DistributedContextPropagator inner) => _inner = inner;

    public override IReadOnlyCollection<string> Fields => _inner.Fields;

    /// <summary>Wraps a handler's propagator; <see langword="null"/> (propagation turned off by the user) stays off.</summary>
    public static DistributedContextPropagator? Wrap(DistributedContextPropagator? inner)
        => inner is null or PickTagging ? inner : new PickTagging(inner);

    /// <summary>The pick of the send that starts now on this thread.</summary>
    /// <param name="request">The request.</param>
    /// <param name="pod">The picked pod.</param>
    /// <param name="outcome">The pick's outcome tag value.</param>
    /// <param name="onRequest">
    /// The handler has not completed a send yet: its first sends reach the span asynchronously, so the pick rides on
    /// the request's options too; call <see cref="Ended"/> when the send's task completes.
    /// </param>
    public static void Enter(HttpRequestMessage request, Endpoint pod, string outcome, bool onRequest)
    {
        t_request = request;
        t_pod = pod;
        t_outcome = outcome;
        if (onRequest)
        {
            request.Options.Set(PickOption, new Pick(pod, outcome));
        }
    }

    /// <summary>A send entered with <c>onRequest</c> ended: the request is left as the caller built it.</summary>
    public static void Ended(HttpRequestMessage request)
        => ((IDictionary<string, object?>)request.Options).Remove(PickOption.Key);

    /// <summary>The send returned its task: the span, if any, has been tagged.</summary>
    public static void Exit()
    {
        t_request = null;
        t_pod = null;
        t_outcome = null;
    }

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter)
    {
        if (activity is { IsAllDataRequested: true } && carrier is HttpRequestMessage request)
        {
            if (ReferenceEquals(request, t_request))
            {
                Tag(activity, t_pod!, t_outcome);
            }
            else if (request.Options.TryGetValue(PickOption, out Pick? pick))
            {
                Tag(activity, pick.Pod, pick.Outcome);
            }
        }

        _inner.Inject(activity, carrier, setter);
    }

    private static void Tag(Activity activity, Endpoint pod, string? outcome)
    {
        activity.SetTag(PeerAddressTag, pod.Host);
        activity.SetTag(PeerPortTag, pod.Port);
        activity.SetTag(BalancingMetrics.OutcomeTag, outcome);
    }

    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
        => _inner.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter)
        => _inner.ExtractBaggage(carrier, getter);

    private sealed record Pick(Endpoint Pod, string Outcome);
}
