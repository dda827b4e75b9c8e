namespace LockFree.Balancing.Hashing;

/// <summary>
/// A key-seeded sequence of pseudo-random 64-bit hashes (SplitMix64: a Weyl sequence with the golden-ratio
/// increment, then a bijective mix). The same key always yields the same sequence, different keys different
/// ones: what overflow and ejection probing use so that one endpoint's keys spread instead of cascading onto
/// a neighbour (Chen, Coleman, Shrivastava, arXiv 1908.08762).
/// </summary>
internal struct ProbeSequence
{
    /// <summary>2^64 / φ, odd: the Weyl increment of SplitMix64.</summary>
    public const ulong GoldenGamma = 0x9E3779B97F4A7C15UL;

    private ulong _state;

    public ProbeSequence(ulong seed) => _state = seed;

    /// <summary>The next hash of the sequence.</summary>
    public ulong Next()
    {
        _state += GoldenGamma;
        return KeyHasher.Mix(_state);
    }
}
