using System.Globalization;
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
