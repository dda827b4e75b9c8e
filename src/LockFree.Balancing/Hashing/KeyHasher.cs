using System.Buffers;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Text;

namespace LockFree.Balancing.Hashing;

/// <summary>
/// The one place that turns a key into a 64-bit placement hash: XXH3-64, seed 0, over the key's
/// bytes; a text key is hashed as its UTF-8 bytes (unpaired surrogates become U+FFFD, as
/// <see cref="Encoding.UTF8"/> encodes them), so a client in any language that hashes the UTF-8
/// bytes with XXH3-64 places keys exactly where this one does.
/// </summary>
/// <remarks>
/// ASCII text keys of up to 64 chars are hashed from their chars by <see cref="AsciiXxh3"/> (same value, no
/// transcoding); the others are transcoded to UTF-8 first. The hash is System.IO.Hashing's
/// <see cref="XxHash3.HashToUInt64(ReadOnlySpan{byte}, long)"/> with seed 0. It replaced the library's own port
/// (bench/Baselines/Xxh3.cs, kept for HashBenchmarks) without moving a key: KeyHasherTests checks this seam against
/// <c>xxhsum -H3</c> vectors for every length class, and the golden placement files did not change.
/// </remarks>
[SkipLocalsInit]
internal static class KeyHasher
{
    // PERF: keys are usually short (ids, paths); up to this many chars the UTF-8 bytes live on the stack.
    private const int StackallocCharLimit = 256;

    // PERF: the common case's buffer: 64 chars, 192 bytes on the stack.
    private const int ShortCharLimit = 64;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(ReadOnlySpan<byte> key) => XxHash3.HashToUInt64(key);

    // PERF: an ASCII key of up to 64 chars is hashed from its chars in registers (AsciiXxh3: same value, no buffer).
    public static ulong Hash(ReadOnlySpan<char> key)
        => AsciiXxh3.TryHash(key, out ulong hash) ? hash : HashByTranscoding(key);

    /// <summary>
    /// The text path for the keys <see cref="AsciiXxh3"/> does not take: UTF-8 on the stack, then XXH3. Every text key
    /// took it before the register path, so the benchmarks call it as their baseline.
    /// </summary>
    internal static ulong HashByTranscoding(ReadOnlySpan<char> key)
    {
        // PERF: a small stack buffer, not zeroed (SkipLocalsInit), and the vectorized UTF-16 → UTF-8 transcoder without
        // Encoding's virtual dispatch. Unpaired surrogates become U+FFFD, exactly as Encoding.UTF8.GetBytes writes them,
        // so every path hashes the same bytes.
        if (key.Length <= ShortCharLimit)
        {
            Span<byte> utf8 = stackalloc byte[ShortCharLimit * 3];
            return HashTranscoded(key, utf8);
        }

        return key.Length <= StackallocCharLimit ? HashMedium(key) : HashLong(key);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong HashTranscoded(ReadOnlySpan<char> key, Span<byte> utf8)
    {
        // Every char encodes to at most 3 UTF-8 bytes (a surrogate pair: 4 bytes for 2 chars), so this always completes.
        System.Text.Unicode.Utf8.FromUtf16(key, utf8, out _, out int written, replaceInvalidSequences: true);
        return XxHash3.HashToUInt64(utf8[..written]);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong HashMedium(ReadOnlySpan<char> key)
    {
        Span<byte> utf8 = stackalloc byte[StackallocCharLimit * 3];
        return HashTranscoded(key, utf8);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong HashLong(ReadOnlySpan<char> key)
    {
        byte[] rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(key.Length));
        try
        {
            int written = Encoding.UTF8.GetBytes(key, rented);
            return XxHash3.HashToUInt64(rented.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// SplitMix64's finalizer: a bijective 64-bit mix, used to derive a probe sequence or a
    /// keyless pick position from a counter without a second pass over the key.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong value)
    {
        value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9UL;
        value = (value ^ (value >> 27)) * 0x94D049BB133111EBUL;
        return value ^ (value >> 31);
    }
}
