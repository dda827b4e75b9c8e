namespace LockFree.Balancing.Benchmarks.Baselines;

/// <summary>The ring hash of a <see cref="MutexCrcRing"/>.</summary>
internal enum MutexRingHash
{
    /// <summary>CRC-32 IEEE, one table, a byte at a time (<see cref="Crc32"/>): the cost the port has always paid.</summary>
    ByteCrc32,

    /// <summary>CRC-32 IEEE from System.IO.Hashing (vectorised): the same points, Go-like or better hash speed.</summary>
    SystemCrc32,

    /// <summary>The high 32 bits of XXH3-64, the library's key hash: other points, the library's hash cost.</summary>
    Xxh3,
}
