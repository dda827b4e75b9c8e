using System.Buffers.Binary;
using System.Text;
using LockFree.Balancing.Hashing;

namespace LockFree.Balancing.Fuzz.Balancer;

/// <summary>The picker families the model can predict placements for.</summary>
internal enum ModelPicker
{
    RoundRobin,
    ConsistentHash,
    Maglev,

    /// <summary>Random or power of two choices: placements are not predicted, only membership and counts.</summary>
    Unpredicted,
}

/// <summary>
/// A simple, locked, rebuild-everything model of a balancer: the endpoint set as a sorted dictionary, in-flight
/// counts per key (draining keys included), and each picker's placement rule restated naively from its documentation:
/// the interleaved weighted cycle for round robin (turn k of weight w due at (2k+1)/2w), a sorted list of replica
/// points searched for the first at or after the key's point for the ring, the permutation fill of the Maglev paper
/// for Maglev, and for bounded loads the capacity ⌈c·(total+1)·w/W⌉ (total: requests on the pickable endpoints of
/// the current set) with key-seeded probes then a sweep.
/// </summary>
internal sealed class ReferenceBalancer
{
    private const ulong GoldenGamma = 0x9E3779B97F4A7C15UL;
    private const int RandomProbes = 16;

    private readonly Lock _gate = new();
    private readonly ModelPicker _picker;
    private readonly int _virtualNodes;
    private readonly int _tableSize;
    private readonly long _loadFactorThousandths;
    private readonly SortedDictionary<string, Endpoint> _set = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private Endpoint[] _ordered = [];
    private int[] _pickable = [];
    private int[] _cycle = [];
    private (uint Point, int Owner)[] _ring = [];
    private int[] _table = [];
    private uint _roundRobinTurn;
    private uint _keylessCounter;

    public ReferenceBalancer(ModelPicker picker, int virtualNodes, int tableSize, double? loadFactor)
    {
        _picker = picker;
        _virtualNodes = virtualNodes;
        _tableSize = tableSize;
        _loadFactorThousandths = loadFactor is double c ? (long)Math.Round(c * 1000) : 0;
    }

    public IReadOnlyList<Endpoint> Endpoints
    {
        get
        {
            lock (_gate)
            {
                return _ordered;
            }
        }
    }

    public bool HasPickable
    {
        get
        {
            lock (_gate)
            {
                return _pickable.Length > 0;
            }
        }
    }

    public int InFlightOf(string key)
    {
        lock (_gate)
        {
            return _inFlight.GetValueOrDefault(key);
        }
    }

    public IEnumerable<string> KnownKeys
    {
        get
        {
            lock (_gate)
            {
                return [.. _inFlight.Keys.Union(_set.Keys)];
            }
        }
    }

    /// <summary>Replaces the set; true when keys or attributes changed.</summary>
    public bool Replace(IEnumerable<Endpoint> endpoints)
    {
        lock (_gate)
        {
            var next = new SortedDictionary<string, Endpoint>(StringComparer.Ordinal);
            foreach (Endpoint endpoint in endpoints)
            {
                next[endpoint.Key] = endpoint;
            }

            bool changed = next.Count != _set.Count
                           || next.Any(pair => !_set.TryGetValue(pair.Key, out Endpoint? old) || !old.HasSameAttributes(pair.Value));
            _set.Clear();
            foreach ((string key, Endpoint endpoint) in next)
            {
                _set[key] = endpoint;
            }

            if (changed)
            {
                Rebuild();
            }

            return changed;
        }
    }

    public void Acquired(string key)
    {
        lock (_gate)
        {
            _inFlight[key] = _inFlight.GetValueOrDefault(key) + 1;
        }
    }

    public void Released(string key)
    {
        lock (_gate)
        {
            _inFlight[key]--;
        }
    }

    /// <summary>The key an acquire with this key hash must land on, or <see langword="null"/> when the model does not predict it.</summary>
    public string? PredictKeyed(ulong keyHash)
    {
        lock (_gate)
        {
            return _picker switch
            {
                ModelPicker.ConsistentHash or ModelPicker.Maglev => PlaceByHash(keyHash),
                ModelPicker.RoundRobin => NextTurn(),
                _ => null,
            };
        }
    }

    /// <summary>Like <see cref="PredictKeyed"/> for a keyless acquire (a hashing picker draws a fresh mixed counter).</summary>
    public string? PredictKeyless()
    {
        lock (_gate)
        {
            switch (_picker)
            {
                case ModelPicker.ConsistentHash or ModelPicker.Maglev:
                    _keylessCounter++;
                    return PlaceByHash(Mix(_keylessCounter));
                case ModelPicker.RoundRobin:
                    return NextTurn();
                default:
                    return null;
            }
        }
    }

    private string? NextTurn()
    {
        if (_cycle.Length == 0)
        {
            return null; // no turn is consumed when nothing is pickable
        }

        return _ordered[_cycle[_roundRobinTurn++ % (uint)_cycle.Length]].Key;
    }

    private string? PlaceByHash(ulong keyHash)
    {
        if (_pickable.Length == 0)
        {
            return null;
        }

        int home = Locate(keyHash);
        if (_loadFactorThousandths == 0)
        {
            return _ordered[home].Key;
        }

        // Bounded loads: the total counts the request being placed and the requests on pickable endpoints of the
        // current set only (balls in current bins): draining and weight-0 endpoints' requests are not in it.
        long total = _pickable.Sum(i => (long)_inFlight.GetValueOrDefault(_ordered[i].Key)) + 1L;
        long totalWeight = _pickable.Sum(i => (long)_ordered[i].Weight);
        bool Fits(int index)
        {
            long load = _inFlight.GetValueOrDefault(_ordered[index].Key);
            long capacity = (long)Math.Ceiling((decimal)_loadFactorThousandths * total * _ordered[index].Weight / (1000m * totalWeight));
            return load < Math.Max(1, capacity);
        }

        if (Fits(home))
        {
            return _ordered[home].Key;
        }

        var rejected = new HashSet<int> { home };
        ulong state = keyHash;
        for (int attempt = 0; attempt < RandomProbes; attempt++)
        {
            state += GoldenGamma;
            int candidate = Locate(Mix(state));
            if (rejected.Contains(candidate))
            {
                continue;
            }

            if (Fits(candidate))
            {
                return _ordered[candidate].Key;
            }

            rejected.Add(candidate);
        }

        int start = (int)((uint)keyHash % (uint)_pickable.Length);
        for (int step = 0; step < _pickable.Length; step++)
        {
            int candidate = _pickable[(start + step) % _pickable.Length];
            if (!rejected.Contains(candidate) && Fits(candidate))
            {
                return _ordered[candidate].Key;
            }
        }

        throw new InvalidOperationException("the model found no endpoint with room: capacities must always leave room for one more request");
    }

    private int Locate(ulong hash)
    {
        if (_picker == ModelPicker.Maglev)
        {
            return _table[(int)(((hash >> 32) * (ulong)_tableSize) >> 32)];
        }

        uint point = (uint)(hash >> 32);
        int low = 0, high = _ring.Length;
        while (low < high)
        {
            int middle = (low + high) / 2;
            if (_ring[middle].Point < point)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return _ring[low == _ring.Length ? 0 : low].Owner;
    }

    private void Rebuild()
    {
        _ordered = [.. _set.Values];
        _pickable = [.. Enumerable.Range(0, _ordered.Length).Where(i => _ordered[i].Weight > 0)];
        switch (_picker)
        {
            case ModelPicker.RoundRobin:
                _cycle = BuildCycle();
                break;
            case ModelPicker.ConsistentHash:
                _ring = BuildRing();
                break;
            case ModelPicker.Maglev:
                _table = BuildTable();
                break;
        }
    }

    private int[] BuildCycle()
    {
        if (_pickable.Length == 0)
        {
            return [];
        }

        int gcd = _pickable.Select(i => _ordered[i].Weight).Aggregate(0, Gcd);
        var turns = new List<(long Numerator, long Denominator, int Index)>();
        foreach (int index in _pickable)
        {
            int reduced = _ordered[index].Weight / gcd;
            for (int k = 0; k < reduced; k++)
            {
                turns.Add(((2L * k) + 1, 2L * reduced, index));
            }
        }

        turns.Sort((x, y) =>
        {
            int byTime = (x.Numerator * y.Denominator).CompareTo(y.Numerator * x.Denominator);
            return byTime != 0 ? byTime : x.Index.CompareTo(y.Index);
        });
        return [.. turns.Select(t => t.Index)];
    }

    private (uint, int)[] BuildRing()
    {
        var points = new List<(uint Point, int Owner)>();
        for (int owner = 0; owner < _ordered.Length; owner++)
        {
            byte[] key = Encoding.UTF8.GetBytes(_ordered[owner].Key);
            byte[] keyAndReplica = new byte[key.Length + 4];
            key.CopyTo(keyAndReplica, 0);
            for (int replica = 0; replica < _ordered[owner].Weight * _virtualNodes; replica++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(keyAndReplica.AsSpan(key.Length), replica);
                points.Add(((uint)(KeyHasher.Hash(keyAndReplica) >> 32), owner));
            }
        }

        return [.. points.OrderBy(p => p.Point).ThenBy(p => p.Owner)];
    }

    private int[] BuildTable()
    {
        int size = _tableSize;
        int count = _pickable.Length;
        if (count == 0)
        {
            return [];
        }

        long[] offset = new long[count], skip = new long[count], next = new long[count], credit = new long[count];
        for (int i = 0; i < count; i++)
        {
            ulong hash = KeyHasher.Hash(Encoding.UTF8.GetBytes(_ordered[_pickable[i]].Key));
            offset[i] = (long)((hash >> 32) % (ulong)size);
            skip[i] = (long)((uint)hash % (uint)(size - 1)) + 1;
        }

        int maxWeight = _pickable.Max(i => _ordered[i].Weight);
        int[] slots = Enumerable.Repeat(-1, size).ToArray();
        int filled = 0;
        while (true)
        {
            for (int i = 0; i < count; i++)
            {
                credit[i] += _ordered[_pickable[i]].Weight;
                while (credit[i] >= maxWeight)
                {
                    credit[i] -= maxWeight;
                    long slot;
                    do
                    {
                        slot = (offset[i] + (next[i]++ * skip[i])) % size;
                    }
                    while (slots[slot] >= 0);

                    slots[slot] = _pickable[i];
                    if (++filled == size)
                    {
                        return slots;
                    }
                }
            }
        }
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    /// <summary>SplitMix64's finalizer (Steele, Lea, Flood 2014), as the probe sequence documents it.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
