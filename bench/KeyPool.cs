using System.Text;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// A fixed pool of affinity keys, generated once from a fixed seed so every run and every machine
/// benchmarks the same keys: 4096 UTF-8 keys of 16–32 bytes (ids like <c>user:7f3k…</c>).
/// </summary>
/// <remarks>
/// PERF: benchmarks cycle through the pool with <c>(cursor + i) &amp; Mask</c>, so choosing a key costs
/// one add, one and and one array load; the pool (~200 KB with headers) is far bigger than one key
/// but small enough that key bytes do not dominate the cache misses being measured.
/// </remarks>
internal static class KeyPool
{
    public const int Size = 4096;
    public const int Mask = Size - 1;
    public const int MinLength = 16;
    public const int MaxLength = 32;

    private const int Seed = 20240601;
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>Creates the pool; same seed, same keys.</summary>
    public static byte[][] Create()
    {
        Random random = new(Seed);
        byte[][] keys = new byte[Size][];
        StringBuilder builder = new(MaxLength);
        for (int i = 0; i < keys.Length; i++)
        {
            int length = random.Next(MinLength, MaxLength + 1);
            builder.Clear().Append("user:");
            while (builder.Length < length)
            {
                builder.Append(Alphabet[random.Next(Alphabet.Length)]);
            }

            keys[i] = Encoding.UTF8.GetBytes(builder.ToString());
        }

        return keys;
    }
}
