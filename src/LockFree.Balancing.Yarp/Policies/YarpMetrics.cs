using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// The YARP policies' telemetry: the <c>lockfree.yarp.picks</c> counter on the <c>LockFree.Balancing.Yarp</c> meter
/// (from the container's <see cref="IMeterFactory"/>; a process-wide meter when the container has none), by policy,
/// outcome and cluster. Never a destination or a key: those are unbounded.
/// </summary>
/// <remarks>
/// PERF: nothing allocates on the pick path: one <c>Enabled</c> read when nobody listens, three inline tags when
/// somebody does. YARP's own telemetry (its <c>Yarp.ReverseProxy</c> event source and the forwarder's activity) names
/// the destination of each request.
/// </remarks>
internal sealed class YarpMetrics
{
    public const string MeterName = "LockFree.Balancing.Yarp";
    public const string PicksName = "lockfree.yarp.picks";
    public const string PickerTag = "lockfree.picker";
    public const string OutcomeTag = "lockfree.pick.outcome";
    public const string ClusterTag = "lockfree.yarp.cluster";

    private static YarpMetrics? s_shared;

    private readonly Counter<long> _picks;

    private YarpMetrics(Meter meter)
    {
        _picks = meter.CreateCounter<long>(
            PicksName, "{pick}", "Destination picks by the LockFree policies, by policy, outcome (home, overflow, remote, over_capacity, none) and cluster.");
    }

    /// <summary>The process-wide instance, for a container without <see cref="IMeterFactory"/>.</summary>
    public static YarpMetrics Shared => Volatile.Read(ref s_shared) ?? CreateShared();

    /// <summary>A meter from <paramref name="meterFactory"/> (the container's, disposed with it), or the process-wide one.</summary>
    public static YarpMetrics Create(IMeterFactory? meterFactory)
        => meterFactory is null ? Shared : new YarpMetrics(meterFactory.Create(new MeterOptions(MeterName) { Version = Version }));

    /// <summary>One pick of <paramref name="policy"/> for <paramref name="cluster"/>: <paramref name="outcome"/>, or none.</summary>
    public void Picked(string policy, string cluster, PickOutcome? outcome)
    {
        if (!_picks.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { PickerTag, policy },
            { OutcomeTag, outcome is PickOutcome picked ? PickOutcomeTag.Of(picked) : PickOutcomeTag.None },
            { ClusterTag, cluster },
        };
        _picks.Add(1, in tags);
    }

    private static string? Version => typeof(YarpMetrics).Assembly.GetName().Version?.ToString();

    private static YarpMetrics CreateShared()
    {
        var created = new YarpMetrics(new Meter(MeterName, Version));
        return Interlocked.CompareExchange(ref s_shared, created, null) ?? created;
    }
}
