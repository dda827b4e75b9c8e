using System.Buffers;
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
/// This is the seam for the hash: <see cref="Xxh3"/> is written here because System.IO.Hashing is
/// not in the package registry this project builds from; <c>System.IO.Hashing.XxHash3.HashToUInt64</c>
/// returns the same values and can replace it without moving a key.
/// </remarks>
internal static class KeyHasher
{
    // PERF: keys are usually short (ids, paths); up to this many chars the UTF-8 bytes live on the stack.
    private const int StackallocCharLimit = 256;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(ReadOnlySpan<byte> key) => Xxh3.Hash64(key);

    public static ulong Hash(ReadOnlySpan<char> key)
    {
        if (key.Length <= StackallocCharLimit)
        {
            Span<byte> utf8 = stackalloc byte[StackallocCharLimit * 3];
            int written = Encoding.UTF8.GetBytes(key, utf8);
            return Xxh3.Hash64(utf8[..written]);
        }

        return HashLong(key);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong HashLong(ReadOnlySpan<char> key)
    {
        byte[] rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(key.Length));
        try
        {
            int written = Encoding.UTF8.GetBytes(key, rented);
            return Xxh3.Hash64(rented.AsSpan(0, written));
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
