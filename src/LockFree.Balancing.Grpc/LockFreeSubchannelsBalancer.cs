using System.Net;
using Grpc.Core;
using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Load;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// One <c>lockfree_*</c> policy instance of one channel: grpc-dotnet's subchannel management, with one core
/// <see cref="LoadBalancer"/> that is <see cref="LoadBalancer.Update"/>d whenever the ready set changes.
/// </summary>
/// <remarks>
/// <para>
/// grpc-dotnet calls <see cref="CreatePicker"/> under its connection manager's lock, one at a time; trackers are
/// cached per subchannel and endpoint state, so counts survive picker rebuilds and a pick allocates nothing.
/// </para>
/// <para>
/// grpc-dotnet keeps a subchannel whose address (host and port) the resolver returns again, with the attributes it
/// was created with, and does not rebuild the picker when no address came or went. The endpoint of each address
/// (weight, zone, hints) is therefore taken from the resolver's latest result, and a result that only changes
/// endpoints' attributes rebuilds the picker here.
/// </para>
/// </remarks>
internal sealed class LockFreeSubchannelsBalancer : SubchannelsLoadBalancer
{
    private readonly PolicySettings _settings;
    private readonly Dictionary<Subchannel, SubchannelCallTracker> _trackers = [];   // touched by CreatePicker only
    // Trackers no longer in the set, still reachable from pickers grpc-dotnet may be using: reservations a late pick
    // makes on them are given back at the next two rebuilds, then they are forgotten (touched by CreatePicker only).
    private readonly List<(SubchannelCallTracker Tracker, int RebuildsLeft)> _retired = [];

    public LockFreeSubchannelsBalancer(IChannelControlHelper controller, ILoggerFactory loggerFactory, PolicySettings settings)
        : base(new StateRecordingController(controller), loggerFactory)
    {
        _settings = settings;
        Core = settings.CreateCore();
    }

    private LockFreePicker? _lastPicker;
    private IReadOnlyList<Subchannel>? _lastReady;
    // The endpoints of the resolver's latest result by address (touched by UpdateChannelState and CreatePicker only).
    private Dictionary<DnsEndPoint, Endpoint> _resolved = [];
    // server.address of the pick spans: the kubernetes resolver's authority (HostOverride), by UpdateChannelState only.
    private string? _serverAddress;

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

    /// <inheritdoc />
    public override void UpdateChannelState(ChannelState state)
    {
        // Step 1 – remember every address's endpoint, and whether one the policy already knows changed attributes.
        bool attributesChanged = false;
        if (state.Status.StatusCode == StatusCode.OK && state.Addresses is { } addresses)
        {
            var resolved = new Dictionary<DnsEndPoint, Endpoint>(addresses.Count);
            foreach (BalancerAddress address in addresses)
            {
                if (address.Attributes.TryGetValue(KubernetesBalancerAttributes.Endpoint, out Endpoint? endpoint))
                {
                    if (_serverAddress is null && address.Attributes.TryGetValue(KubernetesBalancerAttributes.HostOverride, out string? authority))
                    {
                        _serverAddress = GrpcTracing.ServerAddressOf(authority); // the same for every address of the channel
                    }

                    resolved[address.EndPoint] = endpoint;
                    attributesChanged |= _resolved.TryGetValue(address.EndPoint, out Endpoint? known) && !SameAttributes(known, endpoint);
                }
            }

            _resolved = resolved;
        }

        // Step 2 – grpc-dotnet's subchannel bookkeeping, which rebuilds the picker when an address came or went.
        LockFreePicker? before = LastPicker;
        base.UpdateChannelState(state);

        // Step 3 – no rebuild came, but an endpoint's weight, zone or hints changed: rebuild over the same ready set,
        // if the picker in force is still ours (not an error or connecting picker published since).
        if (attributesChanged && ReferenceEquals(LastPicker, before) && before is not null && _lastReady is { } ready
            && ((StateRecordingController)Controller).Last is { ConnectivityState: ConnectivityState.Ready } last && ReferenceEquals(last.Picker, before))
        {
            Controller.UpdateState(new BalancerState(ConnectivityState.Ready, CreatePicker(ready)));
        }
    }

    private static bool SameAttributes(Endpoint a, Endpoint b)
        => a.Weight == b.Weight && a.Zone == b.Zone && a.NodeName == b.NodeName
            && a.ZoneHints.SequenceEqual(b.ZoneHints) && a.NodeHints.SequenceEqual(b.NodeHints);

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
                : _resolved.TryGetValue(address.EndPoint, out Endpoint? latest) ? latest
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

        var picker = new LockFreePicker(Core, _settings, snapshot, ready, _serverAddress);
        _lastReady = [.. readySubchannels];
        Volatile.Write(ref _lastPicker, picker);
        return picker;
    }

    /// <summary>grpc-dotnet's controller, recording the last state the policy published (called under its lock).</summary>
    private sealed class StateRecordingController(IChannelControlHelper inner) : IChannelControlHelper
    {
        public BalancerState? Last { get; private set; }

        public Subchannel CreateSubchannel(SubchannelOptions options) => inner.CreateSubchannel(options);

        public void UpdateState(BalancerState state)
        {
            Last = state;
            inner.UpdateState(state);
        }

        public void RefreshResolver() => inner.RefreshResolver();
    }
}
