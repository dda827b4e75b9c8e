using BenchmarkDotNet.Attributes;
using LockFree.Balancing.Benchmarks.Baselines;
using LockFree.Balancing.Hashing;
using LockFree.Balancing.Ring;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// The ring's lookup alone (key hash + point → owner index), at N = 10, 100 and 1000 endpoints, V = 160:
/// the library's lookup (bucket slots) against the lookup it replaced, other layouts and the textbook searches, all over the
/// same ring (same points, same owners), in one run. <see cref="ConsistentHashPick"/> and
/// <see cref="MaglevPick"/> put the whole pick beside them.
/// </summary>
/// <remarks>
/// 64 lookups per call over <see cref="KeyPool"/>, as in <see cref="PickBenchmarks"/>; each method folds the
/// owner indices it found so that nothing is optimised away, and <c>--smoke</c> checks that every lookup
/// answers the same owner for every pooled key.
/// </remarks>
public class RingLookupBenchmarks : ISmokeChecked
{
    /// <summary>Lookups per benchmark call.</summary>
    public const int LookupsPerInvoke = 64;

    private byte[][] _keys = [];
    private int _cursor;
    private HashRing _ring = HashRing.Empty;
    private LowerBoundRing _lowerBound = null!;
    private int[] _owners = [];
    private EntryRing _entryRing = null!;
    private EntryRing _entryRingHalf = null!;
    private EntryRing _entryRingQuarter = null!;
    private ConsistentHashBalancer _plain = null!;
    private MaglevBalancer _maglev = null!;
    private HashSet<Endpoint> _members = [];

    /// <summary>Endpoints in the set.</summary>
    [Params(10, 100, 1000)]
    public int N { get; set; }

    /// <summary>Builds the ring once and every lookup structure from it.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _keys = KeyPool.Create();
        _cursor = 0;
        Endpoint[] endpoints = TestCluster.Endpoints(N);
        _members = [.. endpoints];
        _plain = TestCluster.Plain(endpoints);
        _ring = _plain.CurrentRing;
        _lowerBound = new LowerBoundRing(_ring);
        _owners = _ring.Owners.ToArray();
        _entryRing = new EntryRing(_ring, shrink: 0);
        _entryRingHalf = new EntryRing(_ring, shrink: 1);
        _entryRingQuarter = new EntryRing(_ring, shrink: 2);
        _maglev = new MaglevBalancer();
        _maglev.Update(endpoints);
    }

    /// <summary>Baseline: the library's lookup (the point's bucket slot; past its second point, the bucket's points and owners).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = LookupsPerInvoke)]
    public int BucketIndex()
    {
        byte[][] keys = _keys;
        HashRing ring = _ring;
        int start = NextBatch();
        int folded = 0;
        for (int i = 0; i < LookupsPerInvoke; i++)
        {
            folded += ring.OwnerOf(HashRing.PointOf(KeyHasher.Hash(keys[(start + i) & KeyPool.Mask])));
        }

        return folded;
    }

    /// <summary>The library's lookup before the bucket slots (<see cref="HashRing.FindPosition"/>, then the owner): bucket index, points, owners, three dependent loads.</summary>
    [Benchmark(OperationsPerInvoke = LookupsPerInvoke)]
    public int ThreeArrayLookup()
    {
        byte[][] keys = _keys;
        HashRing ring = _ring;
        int[] owners = _owners;
        int start = NextBatch();
        int folded = 0;
        for (int i = 0; i < LookupsPerInvoke; i++)
        {
            folded += owners[ring.FindPosition(HashRing.PointOf(KeyHasher.Hash(keys[(start + i) & KeyPool.Mask])))];
        }

        return folded;
    }

    /// <summary>Experiment: one 64-bit (point, owner) entry per point, so the scan and the owner share a line.</summary>
    [Benchmark(OperationsPerInvoke = LookupsPerInvoke)]
    public int EntryRingLookup()
        => FoldEntryRing(_entryRing);

    /// <summary>Experiment: <see cref="EntryRingLookup"/> with half as many buckets.</summary>
    [Benchmark(OperationsPerInvoke = LookupsPerInvoke)]
    public int EntryRingHalfIndex()
        => FoldEntryRing(_entryRingHalf);

    /// <summary>Experiment: <see cref="EntryRingLookup"/> with a quarter as many buckets.</summary>
    [Benchmark(OperationsPerInvoke = LookupsPerInvoke)]
    public int EntryRingQuarterIndex()
        => FoldEntryRing(_entryRingQuarter);

    /// <summary><see cref="Array.BinarySearch{T}(T[], T)"/> over the sorted points, owner from a parallel array.</summary>
    [Benchmark(OperationsPerInvoke = LookupsPerInvoke)]
    public int BinarySearch()
    {
        byte[][] keys = _keys;
        LowerBoundRing ring = _lowerBound;
        int start = NextBatch();
        int folded = 0;
        for (int i = 0; i < LookupsPerInvoke; i++)
        {
            folded += ring.BinarySearchOwnerOf(HashRing.PointOf(KeyHasher.Hash(keys[(start + i) & KeyPool.Mask])));
        }

        return folded;
    }

    /// <summary>A branchless lower bound over the same sorted points (conditional moves, no mispredictions).</summary>
    [Benchmark(OperationsPerInvoke = LookupsPerInvoke)]
    public int BranchlessLowerBound()
    {
        byte[][] keys = _keys;
        LowerBoundRing ring = _lowerBound;
        int start = NextBatch();
        int folded = 0;
        for (int i = 0; i < LookupsPerInvoke; i++)
        {
            folded += ring.BranchlessOwnerOf(HashRing.PointOf(KeyHasher.Hash(keys[(start + i) & KeyPool.Mask])));
        }

        return folded;
    }

    /// <summary>The whole plain pick through the balancer (snapshot read, scope, lookup, availability).</summary>
    [Benchmark(OperationsPerInvoke = LookupsPerInvoke)]
    public Endpoint? ConsistentHashPick()
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        Endpoint? picked = null;
        for (int i = 0; i < LookupsPerInvoke; i++)
        {
            _plain.TryPick(keys[(start + i) & KeyPool.Mask], out picked);
        }

        return picked;
    }

    /// <summary>Maglev's pick (M = 65537, one table load): the flat reference.</summary>
    [Benchmark(OperationsPerInvoke = LookupsPerInvoke)]
    public Endpoint? MaglevPick()
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        Endpoint? picked = null;
        for (int i = 0; i < LookupsPerInvoke; i++)
        {
            _maglev.TryPick(keys[(start + i) & KeyPool.Mask], out picked);
        }

        return picked;
    }

    void ISmokeChecked.CheckResult(string benchmark, object? result)
    {
        switch (result)
        {
            case Endpoint endpoint when !_members.Contains(endpoint):
                throw new InvalidOperationException($"{benchmark} picked {endpoint}, which is not in the set.");
            case Endpoint:
                break;
            case int folded when folded < 0 || (N > 1 && folded == 0):
                throw new InvalidOperationException($"{benchmark} folded {LookupsPerInvoke} owners to {folded}.");
            case int:
                break;
            default:
                throw new InvalidOperationException($"{benchmark} returned {result?.ToString() ?? "null"}.");
        }
    }

    void ISmokeChecked.CheckAfterCalls(string benchmark)
    {
        // Every lookup must answer the same owner for every key, at the ring's edges too, or the rows compare different work.
        ReadOnlySpan<uint> points = _ring.Points;
        uint[] probes = [0, uint.MaxValue, points[0], points[0] - 1, points[^1], points[^1] + 1];
        IEnumerable<uint> keyPoints = _keys.Select(k => HashRing.PointOf(KeyHasher.Hash(k)));
        foreach (uint point in probes.Concat(keyPoints))
        {
            int expected = _ring.OwnerOf(point);
            if (_lowerBound.BinarySearchOwnerOf(point) != expected || _lowerBound.BranchlessOwnerOf(point) != expected || _entryRing.OwnerOf(point) != expected || _owners[_ring.FindPosition(point)] != expected)
            {
                throw new InvalidOperationException($"{benchmark}: the ring lookups disagree at point 0x{point:X8}.");
            }
        }
    }

    // PERF: inlined into each benchmark method, so each measures the same loop over its own layout.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private int FoldEntryRing(EntryRing ring)
    {
        byte[][] keys = _keys;
        int start = NextBatch();
        int folded = 0;
        for (int i = 0; i < LookupsPerInvoke; i++)
        {
            folded += ring.OwnerOf(HashRing.PointOf(KeyHasher.Hash(keys[(start + i) & KeyPool.Mask])));
        }

        return folded;
    }

    private int NextBatch()
    {
        int start = _cursor;
        _cursor = (start + LookupsPerInvoke) & KeyPool.Mask;
        return start;
    }
}
