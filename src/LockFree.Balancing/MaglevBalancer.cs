using System.Runtime.CompilerServices;
using LockFree.Balancing.Load;
using LockFree.Balancing.Maglev;

namespace LockFree.Balancing;

/// <summary>
/// Places each key with a Maglev lookup table (Eisenbud et al., NSDI 2016): O(1) picks, near-perfect
/// balance, and a change of the set moves the changed endpoints' keys plus a small share of others.
/// Optionally bounds loads with the same exact-capacity semantics as <see cref="ConsistentHashBalancer"/>.
/// </summary>
/// <remarks>
/// Compared with the ring: a pick is one table load instead of an index search, every endpoint owns
/// ⌊M·w/W⌋ or ⌈M·w/W⌉ slots, but removing one endpoint also moves about 1–2 % of the other keys
/// (the ring moves none of them; see docs/algorithms.md for the figures measured here). Each update
/// rebuilds the whole table (about a millisecond at M = 65537). Thread-safe; picks take no lock and
/// allocate nothing.
/// </remarks>
public sealed class MaglevBalancer : LoadBalancer
{
    private readonly BoundedLoadPlacer? _boundedLoads;

    /// <summary>Creates a plain Maglev balancer with M = 65537.</summary>
    public MaglevBalancer()
        : this(new MaglevOptions())
    {
    }

    /// <summary>Creates a Maglev balancer.</summary>
    /// <param name="options">The table size and the optional bounded-load factor.</param>
    /// <exception cref="ArgumentException">The table size is not a prime between 2 and 16,777,259, or the load factor is set and not above 1 and at most 100.</exception>
    public MaglevBalancer(MaglevOptions options)
        : base(options, placesByKey: true, keepsInFlightTotal: Validate(options))
    {
        TableSize = options.TableSize;
        _boundedLoads = BoundedLoadPlacer.Create(options.LoadFactor, InFlightTotal, Ejection);
    }

    /// <summary>The table size M.</summary>
    public int TableSize { get; }

    /// <summary>The bounded-load factor as applied (rounded to 0.001), or <see langword="null"/> in plain mode.</summary>
    public double? LoadFactor => _boundedLoads?.LoadFactor;

    /// <summary>The table over every endpoint of the current snapshot, for tests and diagnostics.</summary>
    internal MaglevTable CurrentTable => Unsafe.As<TableScope>(CurrentSnapshot.All).Table;

    private protected override PickScope CreateScope(
        Endpoint[] endpoints,
        int[] pickable,
        PickScope? previous,
        ReadOnlySpan<int> previousToNext,
        ReadOnlySpan<(int Owner, Endpoint Endpoint)> added)
        // Maglev's table is a function of the whole scope: it is rebuilt, not patched.
        => new TableScope(endpoints, pickable, MaglevTable.Build(endpoints, pickable, TableSize));

    private protected override int PickIn(BalancerSnapshot snapshot, PickScope scope, ulong keyHash, out PickOutcome outcome)
    {
        // PERF: only this class creates the scopes it reads, so the cast cannot fail.
        MaglevTable table = Unsafe.As<TableScope>(scope).Table;
        if (table.Size == 0)
        {
            outcome = PickOutcome.Home;
            return -1;
        }

        return PlaceByKey(snapshot, scope, new TableLocator(table), keyHash, out outcome);
    }

    private protected override PlacementResult TryAcquireIn(BalancerSnapshot snapshot, PickScope scope, ulong keyHash, bool lastResort, out EndpointLease lease)
        => _boundedLoads is null
            ? base.TryAcquireIn(snapshot, scope, keyHash, lastResort, out lease)
            : _boundedLoads.TryPlace(snapshot, scope, new TableLocator(Unsafe.As<TableScope>(scope).Table), keyHash, lastResort, out lease);

    private static bool Validate(MaglevOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.TableSize is < 2 or > MaglevOptions.MaxTableSize || !MaglevTable.IsPrime(options.TableSize))
        {
            throw new ArgumentException(
                $"TableSize {options.TableSize} is not accepted: a Maglev table size must be a prime between 2 and {MaglevOptions.MaxTableSize}, above 100 × the endpoint count (default {MaglevOptions.DefaultTableSize}; larger: 131071, 262147, 524287, 1048573, 2097143, 4194301).",
                nameof(options));
        }

        return BoundedLoadPlacer.ToThousandths(options.LoadFactor, nameof(options)) > 0;
    }

    private readonly struct TableLocator(MaglevTable table) : IKeyLocator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Locate(ulong hash) => table.OwnerOf(hash);
    }

    private sealed class TableScope(Endpoint[] endpoints, int[] pickable, MaglevTable table) : PickScope(endpoints, pickable)
    {
        public MaglevTable Table { get; } = table;
    }
}
