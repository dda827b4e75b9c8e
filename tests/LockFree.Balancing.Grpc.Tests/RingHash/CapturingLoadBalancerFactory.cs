using Grpc.Core;
using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Grpc.RingHash;

namespace LockFree.Balancing.Grpc.Tests.RingHash;

using LoadBalancer = global::Grpc.Net.Client.Balancer.LoadBalancer;
using LoadBalancerFactory = global::Grpc.Net.Client.Balancer.LoadBalancerFactory;
using LoadBalancerOptions = global::Grpc.Net.Client.Balancer.LoadBalancerOptions;

/// <summary>
/// Wraps <see cref="RingHashLoadBalancerFactory"/> with a channel helper that records what the policy publishes
/// and creates, so that end-to-end tests can see states and pickers of a real channel.
/// </summary>
internal sealed class CapturingLoadBalancerFactory(RingHashLoadBalancerFactory inner) : LoadBalancerFactory
{
    private readonly object _lock = new();
    private readonly List<ConnectivityState> _states = [];
    private SubchannelPicker? _picker;
    private int _created;

    public override string Name => inner.Name;

    public SubchannelPicker? LatestPicker
    {
        get
        {
            lock (_lock)
            {
                return _picker;
            }
        }
    }

    public int SubchannelsCreated => Volatile.Read(ref _created);

    public ConnectivityState[] States
    {
        get
        {
            lock (_lock)
            {
                return [.. _states];
            }
        }
    }

    public override LoadBalancer Create(LoadBalancerOptions options) =>
        inner.Create(new LoadBalancerOptions(new Helper(this, options.Controller), options.LoggerFactory, options.Configuration));

    private sealed class Helper(CapturingLoadBalancerFactory owner, IChannelControlHelper channel) : IChannelControlHelper
    {
        public Subchannel CreateSubchannel(SubchannelOptions options)
        {
            Interlocked.Increment(ref owner._created);
            return channel.CreateSubchannel(options);
        }

        public void RefreshResolver() => channel.RefreshResolver();

        public void UpdateState(BalancerState state)
        {
            lock (owner._lock)
            {
                owner._states.Add(state.ConnectivityState);
                owner._picker = state.Picker;
            }

            channel.UpdateState(state);
        }
    }
}
