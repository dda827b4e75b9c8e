using Microsoft.Extensions.Time.Testing;
using System.Text;
using LockFree.Balancing.Fuzz.Engine;
using LockFree.Balancing.Hashing;

namespace LockFree.Balancing.Fuzz.Balancer;

/// <summary>
/// Bytes become an operation script (add, remove, reweight, replace the set, acquire with or without a key,
/// release, fail, release twice, advance time) run against one picker and <see cref="ReferenceBalancer"/>.
/// </summary>
/// <remarks>
/// <para>
/// Script layout: byte 0 picks the balancer (round robin, consistent hash, consistent hash with bounded loads,
/// Maglev, Maglev with bounded loads, power of two choices, random); byte 1 holds options (outlier ejection on or off,
/// virtual nodes or table size, load factor, a topology preference for zone-a, where half the pool lives); then one
/// opcode byte per operation followed by its argument bytes.
/// </para>
/// <para>
/// Invariants: the balancer's endpoint list equals the model's after every change, and updates report a change exactly
/// when the model sees one; an acquire fails exactly when nothing is pickable; for deterministic pickers without
/// ejection every placement equals the model's; otherwise the placed endpoint is a current pickable member; the
/// in-flight count of every key ever seen equals the model's after every operation; releasing every lease brings
/// every count to 0. With the topology preference: while zone-a has a pickable endpoint, a lease placed Home or
/// Overflow is in zone-a and a Remote one outside it (Remote never appears otherwise); without ejection or bounds
/// nothing leaves zone-a, and consistent hash and Maglev place exactly where a model of zone-a's endpoints alone
/// places (the whole set's model when zone-a has none).
/// </para>
/// </remarks>
internal sealed class BalancerTarget : FuzzTarget
{
    private const int MaxOperations = 400;

    private const string LocalZone = "zone-a";

    private static readonly Endpoint[] Pool =
    [
        new("10.0.0.1", 8080, zone: LocalZone), new("10.0.0.2", 8080, zone: "zone-b"), new("10.0.0.3", 8080, zone: LocalZone),
        new("10.0.0.10", 8080, zone: "zone-b"), new("fd00::1", 8080, zone: LocalZone), new("fd00::a", 8080, zone: "zone-b"),
        new("web-0.shop.example", 8080, zone: LocalZone), new("web-1.shop.example", 9090, zone: "zone-b"),
    ];

    private static readonly int[] VirtualNodeChoices = [1, 3, 10, 40];
    private static readonly int[] TableSizeChoices = [11, 13, 101, 251];
    private static readonly double[] LoadFactorChoices = [1.001, 1.25, 1.5, 3];

    public override string Name => "balancer";

    public override string Description => "operation scripts against every picker and a locked reference model (placements, counts)";

    public override int MaxInputLength => 4096;

    public override IEnumerable<(string FileName, byte[] Content)> Seeds()
    {
        string[] names = ["round-robin", "ring", "ring-bounded", "maglev", "maglev-bounded", "p2c", "random"];
        for (byte picker = 0; picker < names.Length; picker++)
        {
            // Add a few weighted endpoints, acquire by key and keyless, release some, churn the set, drain.
            byte[] script =
            [
                picker, 0x12,
                0, 0, 1, 0, 1, 2, 0, 2, 3, 0, 4, 1, 0, 6, 1,
                4, 3, (byte)'a', (byte)'b', (byte)'c', 4, 1, (byte)'x', 4, 0, 5, 5, 5, 4, 2, (byte)'k', (byte)'1',
                6, 0, 7, 0, 2, 1, 4, 5, (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o',
                1, 0, 4, 2, (byte)'z', (byte)'z', 3, 0xAA, 1, 2, 3, 4, 5, 6, 7, 8, 5, 5, 6, 1, 8, 0,
            ];
            yield return ($"{names[picker]}.bin", script);
            yield return ($"{names[picker]}-ejection.bin", [picker, 0x13, .. script.AsSpan(2), 7, 0, 7, 0, 7, 0, 9, 30, 5, 5, 5]);
            yield return ($"{names[picker]}-topology.bin", [picker, 0x32, .. script.AsSpan(2), 2, 0, 2, 2, 2, 4, 2, 6, 4, 1, (byte)'q', 5, 0, 0, 1, 5]);
        }
    }

    public override ulong Execute(byte[] input)
    {
        var script = new Script(input);
        int kind = script.Next() % 7;
        int flags = script.Next();
        bool ejection = (flags & 1) == 1;
        int sizeChoice = (flags >> 1) & 3;
        double loadFactor = LoadFactorChoices[(flags >> 3) & 3];
        bool topology = ((flags >> 5) & 1) == 1;
        TopologyOptions? topologyOptions = topology ? new TopologyOptions { LocalZone = LocalZone } : null;
        // A clock that moves only when the script says so (FakeTimeProvider never advances by itself), so ejection
        // timing replays exactly; the same start as before, so the corpus replays unchanged.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero));
        OutlierEjectionOptions? ejectionOptions = ejection
            ? new OutlierEjectionOptions { ConsecutiveFailures = 2, BaseEjectionTime = TimeSpan.FromSeconds(10), MaxEjectionTime = TimeSpan.FromSeconds(60), MaxEjectedShare = 0.5 }
            : null;
        (LoadBalancer balancer, ModelPicker picker, double? factor) = kind switch
        {
            0 => ((LoadBalancer)new RoundRobinBalancer(new LoadBalancerOptions { TimeProvider = time, OutlierEjection = ejectionOptions, Topology = topologyOptions }), ModelPicker.RoundRobin, (double?)null),
            1 => (new ConsistentHashBalancer(new ConsistentHashOptions { VirtualNodesPerEndpoint = VirtualNodeChoices[sizeChoice], TimeProvider = time, OutlierEjection = ejectionOptions, Topology = topologyOptions }), ModelPicker.ConsistentHash, null),
            2 => (new ConsistentHashBalancer(new ConsistentHashOptions { VirtualNodesPerEndpoint = VirtualNodeChoices[sizeChoice], LoadFactor = loadFactor, TimeProvider = time, OutlierEjection = ejectionOptions, Topology = topologyOptions }), ModelPicker.ConsistentHash, loadFactor),
            3 => (new MaglevBalancer(new MaglevOptions { TableSize = TableSizeChoices[sizeChoice], TimeProvider = time, OutlierEjection = ejectionOptions, Topology = topologyOptions }), ModelPicker.Maglev, null),
            4 => (new MaglevBalancer(new MaglevOptions { TableSize = TableSizeChoices[sizeChoice], LoadFactor = loadFactor, TimeProvider = time, OutlierEjection = ejectionOptions, Topology = topologyOptions }), ModelPicker.Maglev, loadFactor),
            5 => (new PowerOfTwoChoicesBalancer(new PowerOfTwoChoicesOptions { Seed = 7, TimeProvider = time, OutlierEjection = ejectionOptions, Topology = topologyOptions }), ModelPicker.Unpredicted, null),
            _ => (new RandomBalancer(new RandomOptions { Seed = 7, TimeProvider = time, OutlierEjection = ejectionOptions, Topology = topologyOptions }), ModelPicker.Unpredicted, null),
        };

        // The state two colliding threads leave: cursors and the bounded-load total in per-processor cells. Counts and
        // totals must agree with the model as before; round robin's rotation and keyless hashes then continue per cell,
        // so they are not predicted.
        bool spread = ((flags >> 6) & 1) == 1;
        if (spread)
        {
            balancer.SpreadCounters();
        }

        // With ejection the placement depends on failure history and the clock: only membership and counts are compared.
        var model = new ReferenceBalancer(ejection || (spread && picker == ModelPicker.RoundRobin) ? ModelPicker.Unpredicted : picker, VirtualNodeChoices[sizeChoice], TableSizeChoices[sizeChoice], factor);

        // With the topology preference, hashing pickers without bounds place as a model of zone-a's endpoints alone.
        // Round robin is not predicted there: its cursor is shared by the local and the whole cycle.
        bool predictsLocally = topology && !ejection && factor is null && picker is ModelPicker.ConsistentHash or ModelPicker.Maglev;
        ReferenceBalancer? localModel = predictsLocally ? new ReferenceBalancer(picker, VirtualNodeChoices[sizeChoice], TableSizeChoices[sizeChoice], null) : null;
        var leases = new List<(EndpointLease Lease, string Key)>();
        ulong opsSeen = 0;
        int peakLeases = 0;
        int remotePlacements = 0;
        for (int op = 0; op < MaxOperations && !script.AtEnd; op++)
        {
            int opcode = script.Next() % 10;
            opsSeen |= 1UL << opcode;
            string where = $"operation {op} (opcode {opcode}, picker {balancer.GetType().Name}, ejection {ejection})";
            switch (opcode)
            {
                case 0 or 1: // add or reweight one endpoint
                    {
                        Endpoint endpoint = Pool[script.Next() % Pool.Length].WithWeight(opcode == 0 ? script.Next() % 6 : 1 + (script.Next() % 4));
                        bool changed = balancer.Add(endpoint);
                        bool expected = model.Replace(model.Endpoints.Where(e => e.Key != endpoint.Key).Append(endpoint));
                        Check(changed == expected, $"{where}: Add reported changed={changed}, the model {expected}");
                        break;
                    }

                case 2: // remove one endpoint
                    {
                        Endpoint endpoint = Pool[script.Next() % Pool.Length];
                        bool changed = balancer.Remove(endpoint);
                        bool expected = model.Replace(model.Endpoints.Where(e => e.Key != endpoint.Key));
                        Check(changed == expected, $"{where}: Remove reported changed={changed}, the model {expected}");
                        break;
                    }

                case 3: // replace the whole set from a bit mask, weights from the following bytes
                    {
                        int mask = script.Next();
                        List<Endpoint> next = [];
                        for (int i = 0; i < Pool.Length; i++)
                        {
                            if ((mask & (1 << i)) != 0)
                            {
                                next.Add(Pool[i].WithWeight(script.Next() % 6));
                            }
                        }

                        bool changed = balancer.Update(next);
                        bool expected = model.Replace(next);
                        Check(changed == expected, $"{where}: Update reported changed={changed}, the model {expected}");
                        break;
                    }

                case 4: // acquire with a key of 0-7 bytes
                    {
                        byte[] key = script.Take(script.Next() % 8);
                        string? predicted = Predict(model.PredictKeyed(KeyHasher.Hash(key)), localModel?.PredictKeyed(KeyHasher.Hash(key)));
                        bool acquired = balancer.TryAcquire(key, out EndpointLease lease);
                        Placed(acquired, lease, predicted, $"{where}: acquire with key '{Encoding.Latin1.GetString(key)}'");
                        break;
                    }

                case 5: // keyless acquire
                    {
                        string? predicted = spread ? null : Predict(model.PredictKeyless(), localModel?.PredictKeyless());
                        bool acquired = balancer.TryAcquire(out EndpointLease lease);
                        Placed(acquired, lease, predicted, $"{where}: keyless acquire");
                        break;
                    }

                case 6 or 7: // release or fail one lease
                    if (leases.Count > 0)
                    {
                        int at = script.Next() % leases.Count;
                        (EndpointLease lease, string key) = leases[at];
                        leases.RemoveAt(at);
                        if (opcode == 6)
                        {
                            lease.Dispose();
                        }
                        else
                        {
                            lease.Fail();
                        }

                        Check(!lease.IsHeld, $"{where}: a lease is still held after it was ended");
                        model.Released(key);
                    }

                    break;
                case 8: // end a lease twice (Dispose after Fail, or Dispose twice): counted once
                    if (leases.Count > 0)
                    {
                        (EndpointLease lease, string key) = leases[^1];
                        leases.RemoveAt(leases.Count - 1);
                        lease.Fail();
                        lease.Dispose();
                        lease.Dispose();
                        model.Released(key);
                    }

                    break;
                default: // advance the clock by 0-25.5 s (ejections end)
                    time.Advance(TimeSpan.FromMilliseconds(script.Next() * 100));
                    break;
            }

            localModel?.Replace(model.Endpoints.Where(e => e.Zone == LocalZone));
            CheckEndpoints(balancer, model, where);
            CheckCounts(balancer, model, where);
            peakLeases = Math.Max(peakLeases, leases.Count);
        }

        // Every lease released: every count back to 0.
        foreach ((EndpointLease lease, string key) in leases)
        {
            EndpointLease copy = lease;
            copy.Dispose();
            model.Released(key);
        }

        CheckCounts(balancer, model, "after releasing every lease");
        foreach (string key in model.KnownKeys)
        {
            Check(balancer.InFlightOf(key) == 0, $"after releasing every lease, {key} still counts {balancer.InFlightOf(key)} in flight");
        }

        Check(balancer.GetStatus().All(s => s.InFlight == 0), "after releasing every lease, GetStatus reports requests in flight");
        return (uint)kind | ((ejection ? 1UL : 0) << 3) | (opsSeen << 4) | ((ulong)Math.Min(peakLeases, 15) << 14) | ((ulong)Math.Min(balancer.Endpoints.Count, 8) << 18)
               | ((topology ? 1UL : 0) << 22) | ((ulong)Math.Min(remotePlacements, 3) << 23) | ((spread ? 1UL : 0) << 25);

        // The model's own prediction stays the whole set's (it keeps its counters in step either way); with the
        // topology preference it counts only where zone-a has nothing pickable, and for pickers not predicted locally
        // not at all.
        string? Predict(string? whole, string? local)
        {
            if (!topology)
            {
                return whole;
            }

            if (localModel is null)
            {
                return null;
            }

            return localModel.HasPickable ? local : whole;
        }

        void Placed(bool acquired, EndpointLease lease, string? predicted, string what)
        {
            if (!acquired)
            {
                Check(!model.HasPickable || ejection, $"{what}: the acquire failed although the model has pickable endpoints");
                Check(!lease.IsHeld, $"{what}: a failed acquire returned a held lease");
                return;
            }

            string key = lease.Endpoint.Key;
            Check(lease.IsHeld, $"{what}: a successful acquire returned a lease that is not held");
            Check(lease.Outcome != PickOutcome.Fallback, $"{what}: placed on the fallback, which is not configured");
            bool localPickable = model.Endpoints.Any(e => e.Weight > 0 && e.Zone == LocalZone);
            if (lease.Outcome == PickOutcome.Remote)
            {
                Check(topology && localPickable && lease.Endpoint.Zone != LocalZone, $"{what}: placed Remote on {key} in {lease.Endpoint.Zone} (topology {topology}, zone-a pickable {localPickable})");
                remotePlacements++;
            }
            else if (topology && localPickable)
            {
                Check(lease.Endpoint.Zone == LocalZone, $"{what}: placed {lease.Outcome} on {key} in {lease.Endpoint.Zone} while zone-a has pickable endpoints");
            }

            if (topology && localPickable && !ejection && factor is null)
            {
                Check(lease.Outcome == PickOutcome.Home, $"{what}: placed {lease.Outcome} with zone-a pickable, no ejection and no bounds");
            }

            Check(model.Endpoints.Any(e => e.Key == key && e.Weight > 0), $"{what}: placed on {key}, which is not a pickable member");
            if (predicted is not null)
            {
                Check(key == predicted, $"{what}: placed on {key}, the model places it on {predicted} (set: {string.Join(' ', model.Endpoints.Select(e => $"{e.Key}w{e.Weight}"))})");
            }

            model.Acquired(key);
            leases.Add((lease, key));
        }
    }

    private static void CheckEndpoints(LoadBalancer balancer, ReferenceBalancer model, string where)
    {
        IReadOnlyList<Endpoint> actual = balancer.Endpoints;
        IReadOnlyList<Endpoint> expected = model.Endpoints;
        Check(
            actual.Count == expected.Count && actual.Zip(expected).All(pair => pair.First.Key == pair.Second.Key && pair.First.Weight == pair.Second.Weight),
            $"{where}: endpoints differ: balancer {string.Join(' ', actual.Select(e => $"{e.Key}w{e.Weight}"))}, model {string.Join(' ', expected.Select(e => $"{e.Key}w{e.Weight}"))}");
    }

    private static void CheckCounts(LoadBalancer balancer, ReferenceBalancer model, string where)
    {
        foreach (string key in model.KnownKeys)
        {
            int actual = balancer.InFlightOf(key);
            int expected = model.InFlightOf(key);
            Check(actual == expected, $"{where}: {key} counts {actual} in flight, the model {expected}");
        }

        // The bounded-load total holds the requests on the current set's pickable endpoints only (draining and
        // weight-0 endpoints' requests left it), whether it is one line or spread over cells.
        if (balancer.InFlightTotalNow is int total)
        {
            int expectedTotal = model.Endpoints.Where(e => e.Weight > 0).Sum(e => model.InFlightOf(e.Key));
            Check(total == expectedTotal, $"{where}: the in-flight total is {total}, the model's pickable endpoints hold {expectedTotal}");
        }
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvariantViolationException(message);
        }
    }

    /// <summary>Reads the script; past the end every byte reads as 0 and <see cref="AtEnd"/> stops the loop.</summary>
    private sealed class Script(byte[] bytes)
    {
        private int _position;

        public bool AtEnd => _position >= bytes.Length;

        public int Next() => _position < bytes.Length ? bytes[_position++] : 0;

        public byte[] Take(int count)
        {
            int available = Math.Clamp(bytes.Length - _position, 0, count);
            byte[] taken = bytes.AsSpan(_position, available).ToArray();
            _position += available;
            return taken;
        }
    }
}
