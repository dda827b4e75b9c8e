using System.Globalization;
using Grpc.Net.Client.Configuration;
using LockFree.Balancing.Grpc;
using LockFree.Balancing.Grpc.RingHash;
using LockFree.Balancing.Http;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>One picker the simulation drives, and how it is built.</summary>
/// <param name="Name">The name in the tables.</param>
/// <param name="Create">Builds a fresh balancer.</param>
/// <param name="Keyed">Places by the request's key (the others get no key).</param>
/// <param name="LoadFactor">The bounded-load factor, or <see langword="null"/> when loads are not bounded.</param>
/// <param name="HandlerPicker">The same picker in the HTTP handler's options.</param>
internal sealed record PickerSpec(string Name, Func<LoadBalancer> Create, bool Keyed, double? LoadFactor, BalancingPicker HandlerPicker)
{
    /// <summary>The gRPC phase's header (metadata) that carries the key to the hashing policies.</summary>
    public const string GrpcHashHeader = "x-user";

    /// <summary>For the gRPC phase: the channel's <c>loadBalancingConfig</c> entry; <see langword="null"/> for the HTTP pickers.</summary>
    public Func<LoadBalancingConfig>? GrpcConfig { get; init; }

    /// <summary>Whether the gRPC policy places by the LockFree core (<c>lockfree_*</c>), whose balancer the run can read.</summary>
    public bool HasCore { get; init; } = true;

    /// <summary>
    /// The gRPC policies of the gRPC phase, in order, each on channels to <c>kubernetes:///web.shop:grpc</c>:
    /// <c>lockfree_p2c</c>, <c>lockfree_consistent_hash</c> bounded by <paramref name="loadFactor"/>,
    /// <c>ring_hash</c> (gRFC A42, keyed by the same header) and <c>lockfree_maglev</c>; <paramref name="only"/>
    /// keeps those whose policy name it lists.
    /// </summary>
    public static PickerSpec[] Grpc(double loadFactor, IReadOnlyCollection<string>? only = null)
    {
        static LoadBalancer NoCore() => throw new InvalidOperationException("a gRPC policy's balancer is created by its channel");
        PickerSpec[] all =
        [
            new(LockFreePolicyNames.PowerOfTwoChoices, NoCore, Keyed: false, LoadFactor: null, BalancingPicker.PowerOfTwoChoices)
            {
                GrpcConfig = () => new LockFreeLoadBalancingConfig(LockFreePolicyNames.PowerOfTwoChoices),
            },
            new(string.Create(CultureInfo.InvariantCulture, $"{LockFreePolicyNames.ConsistentHash}, load_factor {loadFactor}"), NoCore, Keyed: true, LoadFactor: loadFactor, BalancingPicker.ConsistentHash)
            {
                GrpcConfig = () => new LockFreeLoadBalancingConfig(LockFreePolicyNames.ConsistentHash) { HashHeader = GrpcHashHeader, LoadFactor = loadFactor },
            },
            new("ring_hash", NoCore, Keyed: true, LoadFactor: null, BalancingPicker.ConsistentHash)
            {
                GrpcConfig = () => new RingHashOptions { RequestHashHeader = GrpcHashHeader }.ToLoadBalancingConfig(),
                HasCore = false,
            },
            new(LockFreePolicyNames.Maglev, NoCore, Keyed: true, LoadFactor: null, BalancingPicker.Maglev)
            {
                GrpcConfig = () => new LockFreeLoadBalancingConfig(LockFreePolicyNames.Maglev) { HashHeader = GrpcHashHeader },
            },
        ];
        return only is null ? all : [.. all.Where(p => only.Any(name => p.Name.StartsWith(name, StringComparison.Ordinal)))];
    }

    /// <summary>The five pickers of the default run, in order.</summary>
    public static PickerSpec[] All(double loadFactor) =>
    [
        new("round robin", () => new RoundRobinBalancer(), Keyed: false, LoadFactor: null, BalancingPicker.RoundRobin),
        new("power of two choices", () => new PowerOfTwoChoicesBalancer(new PowerOfTwoChoicesOptions { Seed = 11 }), Keyed: false, LoadFactor: null, BalancingPicker.PowerOfTwoChoices),
        new("consistent hash", () => new ConsistentHashBalancer(), Keyed: true, LoadFactor: null, BalancingPicker.ConsistentHash),
        new(string.Create(CultureInfo.InvariantCulture, $"consistent hash, bounded c = {loadFactor}"),
            () => new ConsistentHashBalancer(new ConsistentHashOptions { LoadFactor = loadFactor }), Keyed: true, LoadFactor: loadFactor, BalancingPicker.ConsistentHash),
        new("Maglev", () => new MaglevBalancer(), Keyed: true, LoadFactor: null, BalancingPicker.Maglev),
    ];
}
