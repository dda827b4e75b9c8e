using System.Buffers;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Text;

namespace LockFree.Balancing.Benchmarks.Baselines;

/// <summary>
/// The library's former text-key hash, kept as a baseline (the code of <c>KeyHasher.Hash(ReadOnlySpan&lt;char&gt;)</c> before
/// the register path): the key's chars transcoded to UTF-8 in a stack buffer (not zeroed), then XXH3-64 of that buffer
/// (System.IO.Hashing). The same value the library returns, which now hashes ASCII keys of up to 64 chars straight
/// from their chars.
/// </summary>
[SkipLocalsInit]
internal static class TranscodingTextHash
{
    private const int StackallocCharLimit = 256;
    private const int ShortCharLimit = 64;

    public static ulong Hash(ReadOnlySpan<char> key)
    {
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
}
