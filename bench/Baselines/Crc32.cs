namespace LockFree.Balancing.Benchmarks.Baselines;

/// <summary>
/// CRC-32 IEEE 802.3 (reflected polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF), the
/// checksum Go's <c>crc32.ChecksumIEEE</c> computes and dlespiau/balance uses as its default ring hash.
/// A plain one-table, byte-at-a-time implementation: the hash cost the baseline paid.
/// </summary>
/// <remarks>Check value: <c>Compute("123456789")</c> is <c>0xCBF43926</c> (verified by <c>--smoke</c>).</remarks>
internal static class Crc32
{
    private const uint ReflectedPolynomial = 0xEDB88320u;

    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(~0u, data);

    /// <summary>
    /// Continues a CRC over more bytes. <paramref name="state"/> is the running (non-finalized) value:
    /// start from <c>~0u</c>, finish with <c>~state</c>. Lets a caller hash "prefix + key" without
    /// concatenating.
    /// </summary>
    public static uint Append(uint state, ReadOnlySpan<byte> data)
    {
        uint[] table = Table;
        foreach (byte b in data)
        {
            state = table[(byte)(state ^ b)] ^ (state >> 8);
        }

        return state;
    }

    private static uint[] BuildTable()
    {
        uint[] table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int bit = 0; bit < 8; bit++)
            {
                c = (c & 1) != 0 ? ReflectedPolynomial ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
