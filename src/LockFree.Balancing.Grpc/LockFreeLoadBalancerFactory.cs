using Grpc.Net.Client.Balancer;
using GrpcLoadBalancer = Grpc.Net.Client.Balancer.LoadBalancer;
using GrpcLoadBalancerOptions = Grpc.Net.Client.Balancer.LoadBalancerOptions;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// A grpc-dotnet <see cref="LoadBalancerFactory"/> for one of the LockFree policies (<see cref="LockFreePolicyNames"/>):
/// each policy instance owns one core balancer, updated with the ready subchannels, and counts in-flight calls
/// through <see cref="ISubchannelCallTracker"/>.
/// </summary>
/// <remarks>
/// Inputs come from the policy's service-config object (see <see cref="LockFreeLoadBalancingConfig"/> and
/// <c>docs/grpc.md</c>) over the <see cref="KubernetesGrpcBalancingOptions"/> defaults. Thread-safe.
/// </remarks>
public sealed class LockFreeLoadBalancerFactory : LoadBalancerFactory
{
    private readonly KubernetesGrpcBalancingOptions _defaults;
    private readonly TimeProvider _time;
    private readonly List<WeakReference<LockFreeSubchannelsBalancer>> _created = [];   // guarded by itself

    /// <summary>Creates the factory of one policy, with the clock its policies use (ejection times, reservation ages).</summary>
    /// <param name="policyName">One of <see cref="LockFreePolicyNames"/>.</param>
    /// <param name="defaults">Defaults for inputs the service config leaves out; <see langword="null"/> for the defaults.</param>
    /// <param name="timeProvider">The clock; <see langword="null"/> for <see cref="TimeProvider.System"/> (the DI registration passes the container's).</param>
    /// <exception cref="ArgumentException"><paramref name="policyName"/> is not a LockFree policy.</exception>
    public LockFreeLoadBalancerFactory(string policyName, KubernetesGrpcBalancingOptions? defaults = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(policyName);
        if (policyName is not (LockFreePolicyNames.PowerOfTwoChoices or LockFreePolicyNames.RoundRobin
            or LockFreePolicyNames.ConsistentHash or LockFreePolicyNames.Maglev))
        {
            throw new ArgumentException(
                $"'{policyName}' is not a LockFree policy: use {LockFreePolicyNames.PowerOfTwoChoices}, {LockFreePolicyNames.RoundRobin}, {LockFreePolicyNames.ConsistentHash} or {LockFreePolicyNames.Maglev}.",
                nameof(policyName));
        }

        Name = policyName;
        _defaults = defaults ?? new KubernetesGrpcBalancingOptions();
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The policy name, as written in service config.</summary>
    public override string Name { get; }

    /// <summary>Creates a policy instance for one channel.</summary>
    /// <param name="options">grpc-dotnet's options, with the policy's service-config object.</param>
    /// <returns>The load balancer.</returns>
    /// <exception cref="InvalidOperationException">The service-config object has an unknown input or a value of the wrong type.</exception>
    /// <exception cref="ArgumentException">The core balancer rejects a value (for example a load factor of 1 or less).</exception>
    public override GrpcLoadBalancer Create(GrpcLoadBalancerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        PolicySettings settings = PolicySettings.Parse(Name, options.Configuration, _defaults, _time);
        var balancer = new LockFreeSubchannelsBalancer(options.Controller, options.LoggerFactory, settings);
        lock (_created)
        {
            _created.RemoveAll(static r => !r.TryGetTarget(out _));
            _created.Add(new WeakReference<LockFreeSubchannelsBalancer>(balancer));
        }

        return balancer;
    }

    /// <summary>The live policy instances this factory created, for diagnostics and tests.</summary>
    internal IReadOnlyList<LockFreeSubchannelsBalancer> Instances
    {
        get
        {
            lock (_created)
            {
                return [.. _created.Select(r => r.TryGetTarget(out LockFreeSubchannelsBalancer? b) ? b : null).OfType<LockFreeSubchannelsBalancer>()];
            }
        }
    }
}
