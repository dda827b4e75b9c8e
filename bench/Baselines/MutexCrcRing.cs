using System.Globalization;
using System.Text;
using LockFree.Balancing.Hashing;

namespace LockFree.Balancing.Benchmarks.Baselines;

/// <summary>
/// The design this project replaces, written here after dlespiau/balance's <c>Consistent</c> (Go, seed 001):
/// one exclusive lock around every Get and every Put, a CRC-32 IEEE ring with 256 replicas per endpoint,
/// a sorted slice of points searched by binary search, a point → endpoint map, and bounded loads kept as
/// plain integers under that lock.
/// </summary>
/// <remarks>
/// <para>Mapping of the Go design:</para>
/// <list type="bullet">
/// <item><description><c>sync.Mutex</c> → one <see cref="Lock"/>; Get and Put each enter it once.</description></item>
/// <item><description>Replica point <c>i</c> = CRC-32 of the decimal digits of <c>i</c> followed by the endpoint key; the key's point = CRC-32 of the key bytes.</description></item>
/// <item><description>Sorted <c>[]int</c> + <c>sort.Search</c> → sorted <see cref="List{T}"/> of points + lower-bound binary search, wrapping to 0.</description></item>
/// <item><description><c>map[int]*endpointInfo</c> → <see cref="Dictionary{TKey, TValue}"/> from point to a slot holding the endpoint and its load (a later duplicate point overwrites, as in Go).</description></item>
/// <item><description>Bounded loads: accept an endpoint iff <c>load + 1 ≤ ⌈c · (total + 1) / N⌉</c>, else walk to the next ring point; Put finds the slot again by the endpoint's replica-0 point and decrements.</description></item>
/// </list>
/// <para>
/// One difference in the port's favour: Go builds <c>strconv.Itoa(i) + key</c> and a <c>[]byte</c> per
/// hash (allocations); here the bytes are formatted on the stack, so the baseline allocates nothing per
/// pick and the comparison measures the lock and the search, not the garbage collector.
/// </para>
/// <para>
/// <see cref="MutexRingHash"/> separates the lock's cost from the hash's: the byte-at-a-time CRC-32 above
/// (the seed's cost as ported), System.IO.Hashing's <c>Crc32</c> (table-driven and vectorised, as fast as Go's
/// slicing-by-8 or faster: the same values), or XXH3-64's high 32 bits (the library's hash; other points).
/// </para>
/// </remarks>
internal sealed class MutexCrcRing
{
    public const int DefaultReplicas = 256;

    private readonly Lock _gate = new();
    private readonly MutexRingHash _hash;
    private readonly int _replicas;
    private readonly double _loadFactor;
    private readonly List<uint> _points = [];
    private readonly Dictionary<uint, Slot> _slotsByPoint = [];
    private int _endpointCount;
    private int _totalLoad;

    /// <param name="replicas">Ring points per endpoint (the Go default is 256).</param>
    /// <param name="loadFactor">0 for plain consistent hashing, otherwise the bounded-load factor c &gt; 1.</param>
    /// <param name="hash">The ring hash; the byte-at-a-time CRC-32 unless given.</param>
    public MutexCrcRing(int replicas = DefaultReplicas, double loadFactor = 0, MutexRingHash hash = MutexRingHash.ByteCrc32)
    {
        _hash = hash;
        _replicas = replicas;
        _loadFactor = loadFactor;
    }

    /// <summary>Requests in flight, summed over all endpoints.</summary>
    public int TotalLoad
    {
        get
        {
            lock (_gate)
            {
                return _totalLoad;
            }
        }
    }

    /// <summary>Adds endpoints: hashes their replicas, then re-sorts the whole ring.</summary>
    public void Add(IEnumerable<Endpoint> endpoints)
    {
        lock (_gate)
        {
            foreach (Endpoint endpoint in endpoints)
            {
                Slot slot = new(endpoint);
                for (int replica = 0; replica < _replicas; replica++)
                {
                    uint point = ReplicaPoint(endpoint.Key, replica);
                    _points.Add(point);
                    _slotsByPoint[point] = slot;
                }

                _endpointCount++;
            }

            _points.Sort();
        }
    }

    /// <summary>Places a request by key and counts it (Go's <c>Get</c>); <see langword="null"/> when the ring is empty.</summary>
    public Endpoint? Get(ReadOnlySpan<byte> key)
    {
        lock (_gate)
        {
            if (_points.Count == 0)
            {
                return null;
            }

            uint hash = Hash(key);
            int index = LowerBound(hash);
            if (index == _points.Count)
            {
                index = 0;
            }

            Slot slot = _slotsByPoint[_points[index]];
            if (_loadFactor == 0)
            {
                return slot.Endpoint;
            }

            while (!LoadOk(slot.Load))
            {
                index++;
                if (index >= _points.Count)
                {
                    index = 0;
                }

                slot = _slotsByPoint[_points[index]];
            }

            slot.Load++;
            _totalLoad++;
            return slot.Endpoint;
        }
    }

    /// <summary>Releases a request placed by <see cref="Get"/> (Go's <c>Put</c>).</summary>
    public void Put(Endpoint endpoint)
    {
        lock (_gate)
        {
            if (_loadFactor == 0)
            {
                return;
            }

            if (_slotsByPoint.TryGetValue(ReplicaPoint(endpoint.Key, 0), out Slot? slot))
            {
                slot.Load--;
                _totalLoad--;
            }
        }
    }

    private bool LoadOk(int endpointLoad)
    {
        // The request being placed counts in both the total and the endpoint's load.
        double averageLoad = (double)(_totalLoad + 1) / _endpointCount;
        return endpointLoad + 1 <= Math.Ceiling(_loadFactor * averageLoad);
    }

    // First index whose point is >= hash (Go's sort.Search), or Count when there is none.
    private int LowerBound(uint hash)
    {
        int low = 0;
        int high = _points.Count;
        while (low < high)
        {
            int middle = (int)((uint)(low + high) >> 1);
            if (_points[middle] >= hash)
            {
                high = middle;
            }
            else
            {
                low = middle + 1;
            }
        }

        return low;
    }

    private uint ReplicaPoint(string key, int replica)
    {
        Span<byte> buffer = stackalloc byte[512];
        replica.TryFormat(buffer, out int digits, provider: CultureInfo.InvariantCulture);
        int keyLength = Encoding.UTF8.GetBytes(key, buffer[digits..]);
        return Hash(buffer[..(digits + keyLength)]);
    }

    private uint Hash(ReadOnlySpan<byte> data) => _hash switch
    {
        MutexRingHash.SystemCrc32 => System.IO.Hashing.Crc32.HashToUInt32(data),
        MutexRingHash.Xxh3 => (uint)(KeyHasher.Hash(data) >> 32),
        _ => Crc32.Compute(data),
    };

    private sealed class Slot(Endpoint endpoint)
    {
        public Endpoint Endpoint { get; } = endpoint;

        public int Load { get; set; }
    }
}
