using System.Diagnostics;
using System.Net.Http.Headers;
using Grpc.Core;
using Grpc.Net.Client.Balancer;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// The picker of one ready-subchannel set: asks the policy's core balancer for an endpoint and returns that
/// subchannel's cached <see cref="PickResult"/>. Immutable; allocates nothing per pick.
/// </summary>
/// <remarks>
/// <para>
/// The core balancer is shared by every picker of the policy instance (its per-endpoint counters survive picker
/// rebuilds). With bounded loads, and for P2C, a pick places the call and reserves room (under the bounded-load cap,
/// exactly); the subchannel's tracker keeps the reservation for its <c>Start</c> to confirm, and gives it back if
/// grpc-dotnet dropped the pick. The other policies pick without counting (an index into the core's snapshot, mapped
/// to this picker's entries by an array): their calls count from <c>Start</c>.
/// </para>
/// <para>
/// An older picker whose snapshot or endpoint the core no longer holds (a set update raced the pick) queues the call;
/// grpc-dotnet then picks again with the newest picker.
/// </para>
/// </remarks>
internal sealed class LockFreePicker : SubchannelPicker
{
    private static readonly PickResult Queue = PickResult.ForQueue();

    private readonly LoadBalancer _core;
    private readonly PolicySettings _settings;
    private readonly Dictionary<Load.EndpointState, Entry> _byState;   // PERF: reference identity, no string hashing
    private readonly Entry[] _entries;
    // The core snapshot this picker was built on, and its entries by that snapshot's endpoint index (null where the
    // snapshot's endpoint has no ready subchannel here).
    private readonly BalancerSnapshot _snapshot;
    private readonly Entry?[] _bySnapshotIndex;
    private readonly PickResult _allEjected;
    private readonly string? _serverAddress;

    /// <param name="core">The policy's core balancer.</param>
    /// <param name="settings">The policy's settings.</param>
    /// <param name="snapshot">The core snapshot built for <paramref name="ready"/>.</param>
    /// <param name="ready">The ready subchannels' endpoints and trackers.</param>
    /// <param name="serverAddress">The Service host for the pick span (<c>server.address</c>); <see langword="null"/> when the channel's resolver is not ours.</param>
    public LockFreePicker(LoadBalancer core, PolicySettings settings, BalancerSnapshot snapshot, IReadOnlyList<(Endpoint Endpoint, SubchannelCallTracker Tracker)> ready, string? serverAddress = null)
    {
        _core = core;
        _settings = settings;
        _serverAddress = serverAddress;
        _entries = new Entry[ready.Count];
        _byState = new Dictionary<Load.EndpointState, Entry>(ready.Count, ReferenceEqualityComparer.Instance);
        for (int i = 0; i < ready.Count; i++)
        {
            (_, SubchannelCallTracker tracker) = ready[i];
            var entry = new Entry(PickResult.ForSubchannel(tracker.Subchannel, tracker), tracker);
            _entries[i] = entry;
            _byState[tracker.State] = entry;
        }

        _snapshot = snapshot;
        _bySnapshotIndex = new Entry?[snapshot.States.Length];
        for (int i = 0; i < _bySnapshotIndex.Length; i++)
        {
            _bySnapshotIndex[i] = _byState.GetValueOrDefault(snapshot.States[i]);
        }

        _allEjected = PickResult.ForFailure(new Status(StatusCode.Unavailable, $"Every ready endpoint is ejected by policy '{settings.Policy}'."));
    }

    public override PickResult Pick(PickContext context)
    {
        // PERF: one HasListeners read when nobody traces; the span exists only for a pick a listener samples.
        Activity? span = PickSpan.Start(GrpcTracing.Source);
        if (_settings.PlacesByKey)
        {
            if (!TryGetKey(context, _settings.HashHeader, out string? key))
            {
                return PickLesserLoaded(span);
            }

            return _settings.CountsAtPick
                ? Place(_core.TryAcquire(key.AsSpan(), out EndpointLease keyed), ref keyed, span)
                : ResultAt(_core.PickIndex(key.AsSpan(), out BalancerSnapshot snapshot, out PickOutcome outcome), snapshot, outcome, span);
        }

        return _settings.CountsAtPick
            ? Place(_core.TryAcquire(out EndpointLease lease), ref lease, span)
            : ResultAt(_core.PickIndex(out BalancerSnapshot current, out PickOutcome keylessOutcome), current, keylessOutcome, span);
    }

    // PERF: an uncounted pick maps the core's index to the entry through an array, not a dictionary.
    private PickResult ResultAt(int index, BalancerSnapshot snapshot, PickOutcome outcome, Activity? span)
    {
        if (span is not null)
        {
            EndSpan(span, index < 0 ? null : snapshot.Endpoints[index], outcome);
        }

        _settings.Metrics.PickedAt(_settings, index, snapshot, outcome);
        if (index < 0)
        {
            return _allEjected;
        }

        // A newer snapshot means a newer picker exists (rebuilds publish both): grpc-dotnet picks again with it.
        return ReferenceEquals(snapshot, _snapshot) ? _bySnapshotIndex[index]?.Result ?? Queue : Queue;
    }

    private PickResult Place(bool acquired, ref EndpointLease lease, Activity? span)
    {
        if (span is not null)
        {
            EndSpan(span, acquired ? lease.Endpoint : null, lease.Outcome);
        }

        _settings.Metrics.Picked(_settings, acquired, in lease);
        if (!acquired)
        {
            return _allEjected;
        }

        Load.EndpointState? reserved = lease.TakeState();
        // Step 1 – the subchannel of that endpoint state in this picker's set.
        Entry? entry = null;
        if (reserved is not null && _byState.TryGetValue(reserved, out entry))
        {
            // Step 2 – keep the placement's reservation; the tracker's Start confirms it (or Reclaim returns it).
            entry.Tracker.Reserve();
            return entry.Result;
        }

        // A set update raced this (older) picker: give the reservation back; Start will count on its own.
        reserved?.ReleaseUnrecorded();
        return entry?.Result ?? Queue;
    }

    // A keyless call on a hashing policy: in-flight power of two choices over the same per-endpoint counters.
    private PickResult PickLesserLoaded(Activity? span)
    {
        Entry[] entries = _entries;
        Entry chosen;
        if (entries.Length == 1)
        {
            chosen = entries[0];
        }
        else
        {
            int first = Random.Shared.Next(entries.Length);
            int second = Random.Shared.Next(entries.Length - 1);
            if (second >= first)
            {
                second++;
            }

            chosen = entries[second].Tracker.InFlight < entries[first].Tracker.InFlight ? entries[second] : entries[first];
        }

        Endpoint endpoint = chosen.Tracker.State.Endpoint;
        if (span is not null)
        {
            EndSpan(span, endpoint, PickOutcome.Home);
        }

        _settings.Metrics.PickedLesserLoaded(_settings, endpoint);
        return chosen.Result;
    }

    /// <summary>
    /// Ends the pick span before the call span is tagged (which reads <see cref="Activity.Current"/>, the call span again
    /// once ours has stopped). A queued pick (an older picker raced a set update) keeps the core's choice: the call's
    /// next pick, on the newer picker, has a span of its own.
    /// </summary>
    private void EndSpan(Activity span, Endpoint? endpoint, PickOutcome outcome)
    {
        if (endpoint is not null)
        {
            PickSpan.Picked(span, _serverAddress, _settings.Policy, endpoint, PickOutcomeTag.Of(outcome));
            return;
        }

        NoEndpointsReason reason = _core.GetUnavailableReason() ?? NoEndpointsReason.NoEndpoints;
        PickSpan.Failed(span, _serverAddress, _settings.Policy, PickSpan.ErrorTypeOf(reason), $"policy '{_settings.Policy}': {PickSpan.DescriptionOf(reason)}");
    }

    private static bool TryGetKey(PickContext context, string? header, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? key)
    {
        key = null;
        if (header is null || !RequestHeaders.TryGetValues(context.Request, header, out HeaderStringValues values))
        {
            return false;
        }

        foreach (string value in values)
        {
            key = value;
            return value.Length > 0;
        }

        return false;
    }

    /// <summary>The number of subchannels this picker chooses among.</summary>
    public int Count => _entries.Length;

    private sealed class Entry(PickResult result, SubchannelCallTracker tracker)
    {
        public PickResult Result { get; } = result;

        public SubchannelCallTracker Tracker { get; } = tracker;
    }
}
