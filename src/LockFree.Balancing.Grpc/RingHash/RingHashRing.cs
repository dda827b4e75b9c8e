using System.Buffers;
using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>
/// The gRFC A42 ring: Envoy's ring hash construction as grpc-go's <c>balancer/ringhash/ring.go</c> writes it,
/// so that the same endpoints and weights give the same ring (and the same key → endpoint mapping) as
/// grpc-go, grpc-java, C-core and Envoy.
/// </summary>
/// <remarks>
/// Immutable once built; shared by every picker built over the same endpoint set. The entries are two
/// parallel arrays sorted by (hash, endpoint index) so that a pick is one binary search over a
/// <see cref="ulong"/> array. Endpoint indexes refer to the hash-key order the ring was built in.
/// </remarks>
internal sealed class RingHashRing
{
    private readonly ulong[] _hashes;
    private readonly int[] _endpoints;

    private RingHashRing(ulong[] hashes, int[] endpoints, long targetSize)
    {
        _hashes = hashes;
        _endpoints = endpoints;
        TargetSize = targetSize;
    }

    /// <summary>Gets the number of entries on the ring.</summary>
    public int Count => _hashes.Length;

    /// <summary>Gets ⌈scale⌉, the ring size grpc-go logs and reserves; the entry count can exceed it by one through floating-point rounding, exactly as in grpc-go.</summary>
    public long TargetSize { get; }

    /// <summary>Gets the hash of ring entry <paramref name="index"/>.</summary>
    public ulong HashAt(int index) => _hashes[index];

    /// <summary>Gets the endpoint index of ring entry <paramref name="index"/>.</summary>
    public int EndpointAt(int index) => _endpoints[index];

    /// <summary>
    /// Builds the ring. <paramref name="hashKeys"/> must be sorted ordinally and distinct; the endpoint
    /// index of an entry is the position of its key in that list.
    /// </summary>
    /// <param name="hashKeys">The endpoints' hash keys (A76 <c>hash_key</c>, else "host:port"), ordinally sorted.</param>
    /// <param name="weights">The endpoints' weights, each at least 1, in the same order.</param>
    /// <param name="minRingSize">The effective minimum ring size (already capped).</param>
    /// <param name="maxRingSize">The effective maximum ring size (already capped).</param>
    /// <returns>The ring.</returns>
    public static RingHashRing Build(IReadOnlyList<string> hashKeys, IReadOnlyList<long> weights, long minRingSize, long maxRingSize)
    {
        ArgumentNullException.ThrowIfNull(hashKeys);
        ArgumentNullException.ThrowIfNull(weights);
        if (hashKeys.Count == 0 || hashKeys.Count != weights.Count)
        {
            throw new ArgumentException("The ring needs at least one endpoint and one weight per endpoint.", nameof(hashKeys));
        }

        // Step 1 – normalise the weights (grpc-go normalizeWeights; Envoy ring_hash_lb.cc): a uint64-style
        // sum cannot wrap for int weights, and the smallest normalised weight starts at 1.0 as in grpc-go.
        double weightSum = 0;
        for (var i = 0; i < weights.Count; i++)
        {
            weightSum += weights[i];
        }

        var normalized = new double[weights.Count];
        var minWeight = 1.0;
        for (var i = 0; i < weights.Count; i++)
        {
            normalized[i] = weights[i] / weightSum;
            minWeight = Math.Min(minWeight, normalized[i]);
        }

        // Step 2 – scale so that the least-weighted endpoint gets a whole number of entries, bounded by the
        // max; the same double arithmetic as grpc-go, so the float quirks (e.g. one entry over ⌈scale⌉) match.
        var scale = Math.Min(Math.Ceiling(minWeight * minRingSize) / minWeight, maxRingSize);
        var ringSize = (long)Math.Ceiling(scale);

        // Step 3 – generate entries endpoint by endpoint: entry i of key k hashes XXH64("k_i", seed 0), and the
        // running currentHashes/targetHashes pair decides how many entries each endpoint gets.
        var entries = new List<Entry>((int)Math.Min(ringSize + 1, int.MaxValue));
        double currentHashes = 0;
        double targetHashes = 0;
        for (var e = 0; e < hashKeys.Count; e++)
        {
            targetHashes += scale * normalized[e];
            var idx = 0;
            while (currentHashes < targetHashes)
            {
                entries.Add(new Entry(EntryHash(hashKeys[e], idx), e));
                idx++;
                currentHashes++;
            }
        }

        // Step 4 – sort by hash; equal hashes (astronomically rare) fall back to endpoint order so that every
        // client builds the same ring (grpc-go's sort.Slice leaves such ties unspecified).
        var array = entries.ToArray();
        Array.Sort(array);
        var hashes = new ulong[array.Length];
        var endpoints = new int[array.Length];
        for (var i = 0; i < array.Length; i++)
        {
            hashes[i] = array[i].Hash;
            endpoints[i] = array[i].Endpoint;
        }

        return new RingHashRing(hashes, endpoints, ringSize);
    }

    /// <summary>
    /// Finds the first entry whose hash is at least <paramref name="hash"/>, wrapping to entry 0 past the
    /// last one (grpc-go <c>ring.pick</c>).
    /// </summary>
    /// <param name="hash">The request hash.</param>
    /// <returns>The entry index.</returns>
    public int FindIndex(ulong hash)
    {
        // PERF: a plain lower-bound search over a ulong[]: no delegate, no bounds re-checks inside the loop.
        var hashes = _hashes;
        var lo = 0;
        var hi = hashes.Length;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (hashes[mid] >= hash)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo == hashes.Length ? 0 : lo;
    }

    /// <summary>Computes XXH64 (seed 0) of the UTF-8 bytes of "<paramref name="hashKey"/>_<paramref name="index"/>".</summary>
    /// <param name="hashKey">The endpoint hash key.</param>
    /// <param name="index">The per-endpoint entry index.</param>
    /// <returns>The entry hash.</returns>
    internal static ulong EntryHash(string hashKey, int index)
    {
        var length = Encoding.UTF8.GetMaxByteCount(hashKey.Length) + 12;
        byte[]? rented = null;
        var buffer = length <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var written = Encoding.UTF8.GetBytes(hashKey, buffer);
            buffer[written++] = (byte)'_';
            index.TryFormat(buffer[written..], out var digits, default, CultureInfo.InvariantCulture);
            return XxHash64.HashToUInt64(buffer[..(written + digits)]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private readonly record struct Entry(ulong Hash, int Endpoint) : IComparable<Entry>
    {
        public int CompareTo(Entry other)
        {
            var byHash = Hash.CompareTo(other.Hash);
            return byHash != 0 ? byHash : Endpoint.CompareTo(other.Endpoint);
        }
    }
}
