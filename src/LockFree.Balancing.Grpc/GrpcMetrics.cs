using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// The gRPC policies' telemetry: the <c>lockfree.grpc.client.picks</c> counter on the <c>LockFree.Balancing.Grpc</c>
/// meter (from the container's <see cref="IMeterFactory"/> when the policy factory was registered through DI; a
/// process-wide meter otherwise), and the pick on grpc-dotnet's client span (<c>Grpc.Net.Client.GrpcOut</c>):
/// <c>network.peer.address</c>, <c>network.peer.port</c> and <c>lockfree.pick.outcome</c>.
/// </summary>
/// <remarks>
/// <para>
/// The span: grpc-dotnet starts its call activity before it sends through <c>HttpClient</c>, and its balancer
/// handler picks inside that send, so <see cref="Activity.Current"/> at the pick is the call's span (when one was
/// created; otherwise it is the caller's, which is left alone: the operation name is checked).
/// </para>
/// <para>
/// PERF: nothing here allocates on the pick path. The counter is one <c>Enabled</c> read when nobody listens and
/// two inline tags when somebody does; the span read is an async-local read, and tags are set only on a span that
/// records (<see cref="Activity.IsAllDataRequested"/>), where the span's own tag list grows.
/// </para>
/// </remarks>
internal sealed class GrpcMetrics
{
    public const string MeterName = "LockFree.Balancing.Grpc";
    public const string PicksName = "lockfree.grpc.client.picks";
    public const string PickerTag = "lockfree.picker";
    public const string OutcomeTag = "lockfree.pick.outcome";
    public const string PeerAddressTag = "network.peer.address";
    public const string PeerPortTag = "network.peer.port";
    public const string GrpcCallActivityName = "Grpc.Net.Client.GrpcOut";

    private static GrpcMetrics? s_shared;

    private readonly Counter<long> _picks;

    private GrpcMetrics(Meter meter)
    {
        Meter = meter;
        _picks = meter.CreateCounter<long>(
            PicksName, "{pick}", "Endpoint picks for gRPC calls, by policy and outcome (home, overflow, remote, fallback, over_capacity, none).");
    }

    /// <summary>The process-wide instance, for policy factories created without DI.</summary>
    public static GrpcMetrics Shared => Volatile.Read(ref s_shared) ?? CreateShared();

    public Meter Meter { get; }

    /// <summary>A meter from <paramref name="meterFactory"/> (the container's, disposed with it), or the process-wide one.</summary>
    public static GrpcMetrics Create(IMeterFactory? meterFactory)
        => meterFactory is null ? Shared : new GrpcMetrics(meterFactory.Create(new MeterOptions(MeterName) { Version = Version }));

    /// <summary>A pick from the core balancer (or none).</summary>
    public void Picked(PolicySettings settings, bool acquired, in EndpointLease lease)
    {
        if (!acquired)
        {
            Count(settings.Policy, PickOutcomeTag.None);
            return;
        }

        string outcome = OutcomeTagValue(lease.Outcome);
        Count(settings.Policy, outcome);
        Endpoint endpoint = lease.Endpoint;
        TagCallSpan(endpoint.Host, endpoint.Port, outcome);
    }

    /// <summary>
    /// A pick that counts nothing (round robin, consistent hash and Maglev without <c>load_factor</c>): the core
    /// returns an index into its snapshot and how it chose it; -1 is <c>none</c>.
    /// </summary>
    /// <param name="settings">The policy's settings.</param>
    /// <param name="index">The core's pick: an index into <paramref name="snapshot"/>'s endpoints, or -1.</param>
    /// <param name="snapshot">The snapshot the index refers to.</param>
    /// <param name="outcome">How the core chose it (home, overflow past an ejection, remote under topology).</param>
    internal void PickedAt(PolicySettings settings, int index, BalancerSnapshot snapshot, PickOutcome outcome)
    {
        if (index < 0)
        {
            Count(settings.Policy, PickOutcomeTag.None);
            return;
        }

        string value = OutcomeTagValue(outcome);
        Count(settings.Policy, value);
        Endpoint endpoint = snapshot.Endpoints[index];
        TagCallSpan(endpoint.Host, endpoint.Port, value);
    }

    /// <summary>A keyless call on a hashing policy: the lesser loaded of two subchannels, its first choice.</summary>
    /// <param name="settings">The policy's settings.</param>
    /// <param name="endpoint">The chosen subchannel's endpoint (its tracker's; <c>Subchannel.CurrentAddress</c> would take the subchannel's lock).</param>
    public void PickedLesserLoaded(PolicySettings settings, Endpoint endpoint)
    {
        Count(settings.Policy, "home");
        TagCallSpan(endpoint.Host, endpoint.Port, "home");
    }

    /// <summary>A <c>ring_hash</c> pick of a READY endpoint (the ring's choice or A42's walk past endpoints that are not).</summary>
    /// <param name="policy">The policy name.</param>
    /// <param name="host">The endpoint's host.</param>
    /// <param name="port">The endpoint's port.</param>
    public void PickedReady(string policy, string host, int port)
    {
        Count(policy, PickOutcomeTag.Home);
        TagCallSpan(host, port, PickOutcomeTag.Home);
    }

    /// <summary>A pick that failed the call (A42: the walk found only endpoints in TRANSIENT_FAILURE).</summary>
    /// <param name="policy">The policy name.</param>
    public void PickFailed(string policy) => Count(policy, PickOutcomeTag.None);

    internal static string OutcomeTagValue(PickOutcome outcome) => PickOutcomeTag.Of(outcome);

    private static string? Version => typeof(GrpcMetrics).Assembly.GetName().Version?.ToString();

    private void Count(string policy, string outcome)
    {
        if (!_picks.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { PickerTag, policy },
            { OutcomeTag, outcome },
        };
        _picks.Add(1, in tags);
    }

    private static void TagCallSpan(string host, int port, string? outcome)
    {
        Activity? call = Activity.Current;
        if (call is { IsAllDataRequested: true } && string.Equals(call.OperationName, GrpcCallActivityName, StringComparison.Ordinal))
        {
            // A call picked again (queued, then a new picker) keeps the last pick: the one that carried it.
            call.SetTag(PeerAddressTag, host);
            call.SetTag(PeerPortTag, port);
            if (outcome is not null)
            {
                call.SetTag(OutcomeTag, outcome);
            }
        }
    }

    private static GrpcMetrics CreateShared()
    {
        var created = new GrpcMetrics(new Meter(MeterName, Version));
        GrpcMetrics? raced = Interlocked.CompareExchange(ref s_shared, created, null);
        if (raced is not null)
        {
            created.Meter.Dispose();
            return raced;
        }

        return created;
    }
}
