using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Load;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// One <c>lockfree_*</c> policy instance of one channel: grpc-dotnet's subchannel management, with one core
/// <see cref="LoadBalancer"/> that is <see cref="LoadBalancer.Update"/>d whenever the ready set changes.
/// </summary>
/// <remarks>
/// grpc-dotnet calls <see cref="CreatePicker"/> under its connection manager's lock, one at a time; trackers are
/// cached per subchannel and endpoint state, so counts survive picker rebuilds and a pick allocates nothing.
/// </remarks>
internal sealed class LockFreeSubchannelsBalancer : SubchannelsLoadBalancer
{
    private readonly PolicySettings _settings;
    private readonly Dictionary<Subchannel, SubchannelCallTracker> _trackers = [];   // touched by CreatePicker only
    // Trackers no longer in the set, still reachable from pickers grpc-dotnet may be using: reservations a late pick
    // makes on them are given back at the next two rebuilds, then they are forgotten (touched by CreatePicker only).
    private readonly List<(SubchannelCallTracker Tracker, int RebuildsLeft)> _retired = [];

    public LockFreeSubchannelsBalancer(IChannelControlHelper controller, ILoggerFactory loggerFactory, PolicySettings settings)
        : base(controller, loggerFactory)
    {
        _settings = settings;
        Core = settings.CreateCore();
    }

    private LockFreePicker? _lastPicker;

    /// <summary>The picker built last (for tests).</summary>
    internal LockFreePicker? LastPicker => Volatile.Read(ref _lastPicker);

    /// <summary>The core balancer (for diagnostics and tests).</summary>
    public LoadBalancer Core { get; }

    /// <summary>
    /// Gives back the reservations of picks that never started: on current trackers those made before the previous
    /// rebuild (see <see cref="SubchannelCallTracker.Reclaim"/>), on retired ones all of them.
    /// </summary>
    internal void ReclaimReservations()
    {
        foreach (SubchannelCallTracker tracker in _trackers.Values)
        {
            tracker.Reclaim();
        }

        for (int i = _retired.Count - 1; i >= 0; i--)
        {
            (SubchannelCallTracker tracker, int left) = _retired[i];
            tracker.ReclaimAll();
            if (left <= 1)
            {
                _retired.RemoveAt(i);
            }
            else
            {
                _retired[i] = (tracker, left - 1);
            }
        }
    }

    private void Retire(SubchannelCallTracker tracker)
    {
        // Its subchannel left the ready set (a dropped pick's always does) or its endpoint state was replaced.
        tracker.ReclaimAll();
        _retired.Add((tracker, 2));
    }

    protected override SubchannelPicker CreatePicker(IReadOnlyList<Subchannel> readySubchannels)
    {
        // Step 1 – the ready set, as core endpoints (the resolver's Endpoint attribute, else host and port).
        var endpoints = new (Subchannel Subchannel, Endpoint Endpoint)[readySubchannels.Count];
        for (int i = 0; i < endpoints.Length; i++)
        {
            Subchannel subchannel = readySubchannels[i];
            IReadOnlyList<BalancerAddress> all = subchannel.GetAddresses();
            BalancerAddress? address = subchannel.CurrentAddress ?? (all.Count > 0 ? all[0] : null);
            Endpoint endpoint = address is null
                ? throw new InvalidOperationException($"Subchannel {subchannel} has no address.")
                : address.Attributes.TryGetValue(KubernetesBalancerAttributes.Endpoint, out Endpoint? known) ? known
                : new Endpoint(address.EndPoint.Host, address.EndPoint.Port);
            endpoints[i] = (subchannel, endpoint);
        }

        // Step 2 – reservations of picks that never started go back: grpc-dotnet drops a pick whose subchannel stopped
        // being ready, and such a change is what brings us here (that tracker is retired below, which gives back all of
        // its reservations); on the others only reservations at least a second old go back, so that a call picked a
        // moment ago still confirms its own in Start.
        ReclaimReservations();

        // Step 3 – publish the set to the core: endpoints that stay keep their counters.
        Core.Update(endpoints.Select(e => e.Endpoint));
        BalancerSnapshot snapshot = Core.CurrentSnapshot;
        var statesByKey = new Dictionary<string, EndpointState>(snapshot.Endpoints.Length, StringComparer.Ordinal);
        for (int i = 0; i < snapshot.Endpoints.Length; i++)
        {
            statesByKey[snapshot.Endpoints[i].Key] = snapshot.States[i];
        }

        // Step 4 – one tracker per subchannel and endpoint state, reused while both stay.
        var ready = new List<(Endpoint, SubchannelCallTracker)>(endpoints.Length);
        var live = new HashSet<Subchannel>();
        foreach ((Subchannel subchannel, Endpoint endpoint) in endpoints)
        {
            if (!statesByKey.TryGetValue(endpoint.Key, out EndpointState? state))
            {
                continue; // weight 0 or a duplicate key: not pickable
            }

            if (!_trackers.TryGetValue(subchannel, out SubchannelCallTracker? tracker) || !ReferenceEquals(tracker.State, state))
            {
                if (tracker is not null)
                {
                    Retire(tracker);
                }

                tracker = new SubchannelCallTracker(subchannel, state, _settings.FailureCodes, _settings.Time);
                tracker.Register();
                _trackers[subchannel] = tracker;
            }

            live.Add(subchannel);
            ready.Add((endpoint, tracker));
        }

        foreach ((Subchannel subchannel, SubchannelCallTracker tracker) in _trackers.Where(p => !live.Contains(p.Key)).ToList())
        {
            _trackers.Remove(subchannel);
            Retire(tracker);
        }

        var picker = new LockFreePicker(Core, _settings, snapshot, ready);
        Volatile.Write(ref _lastPicker, picker);
        return picker;
    }
}
