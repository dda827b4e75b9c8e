using Grpc.Net.Client.Balancer;

namespace LockFree.Balancing.Grpc.RingHash;

using LoadBalancer = global::Grpc.Net.Client.Balancer.LoadBalancer;
using LoadBalancerFactory = global::Grpc.Net.Client.Balancer.LoadBalancerFactory;
using LoadBalancerOptions = global::Grpc.Net.Client.Balancer.LoadBalancerOptions;

/// <summary>
/// Creates the gRFC A42 <c>ring_hash</c> load-balancing policy (with A76's <c>requestHashHeader</c> and endpoint
/// <c>hash_key</c>) for grpc-dotnet channels. Register it as a <see cref="LoadBalancerFactory"/> service and
/// select it with a service config naming <c>"ring_hash"</c>.
/// </summary>
/// <remarks>
/// The same addresses and weights give the same ring, and so the same key → endpoint mapping, as grpc-go,
/// grpc-java, C-core and Envoy (XXH64 seed 0 of "host:port_i"). Addresses' weights come from the
/// <see cref="RingHashAttributes.Weight"/> attribute. Thread-safe; the options given to the constructor are
/// copied and are the defaults a service config overrides.
/// </remarks>
public sealed class RingHashLoadBalancerFactory : LoadBalancerFactory
{
    /// <summary>The policy name in service configs: <c>"ring_hash"</c>.</summary>
    public const string PolicyName = "ring_hash";

    private readonly RingHashOptions _defaults;
    private readonly Random _random;
    private readonly GrpcMetrics _metrics;

    /// <summary>Initializes a new instance of the <see cref="RingHashLoadBalancerFactory"/> class with default options.</summary>
    public RingHashLoadBalancerFactory()
        : this(new RingHashOptions())
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RingHashLoadBalancerFactory"/> class.</summary>
    /// <param name="options">Defaults for every channel (a service config overrides them field by field).</param>
    /// <exception cref="RingHashConfigurationException">The options are invalid.</exception>
    public RingHashLoadBalancerFactory(RingHashOptions options)
        : this(options, Random.Shared)
    {
    }

    internal RingHashLoadBalancerFactory(RingHashOptions options, Random random, System.Diagnostics.Metrics.IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _metrics = GrpcMetrics.Create(meterFactory);
        _defaults = options.Clone();
        _defaults.Validate();
        _random = random;
    }

    /// <inheritdoc />
    public override string Name => PolicyName;

    /// <inheritdoc />
    /// <exception cref="RingHashConfigurationException">The service config's <c>ring_hash</c> fields are invalid.</exception>
    public override LoadBalancer Create(LoadBalancerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var effective = _defaults.WithConfiguration(options.Configuration);
        return new RingHashLoadBalancer(options.Controller, options.LoggerFactory, _defaults, effective, _random, _metrics);
    }
}
