using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using static LockFree.Balancing.Hashing.Xxh3Mixing;

namespace LockFree.Balancing.Hashing;

/// <summary>
/// XXH3-64 (seed 0, default secret) of an ASCII text key's bytes, computed from its UTF-16 chars in registers, for
/// keys of up to 64 chars: the same value <see cref="System.IO.Hashing.XxHash3.HashToUInt64(ReadOnlySpan{byte}, long)"/>
/// returns for the key's UTF-8 bytes (an ASCII char is its own UTF-8 byte).
/// </summary>
/// <remarks>
/// <para>
/// PERF: transcoding a short key to a stack buffer and hashing that buffer cost 14–21 ns for 6–36 chars, against
/// 2–6 ns for hashing the bytes alone (TextKeyHashBenchmarks). Most of the difference is the buffer itself
/// (narrowing into a stack buffer with vector stores, instead of transcoding, gained little): XXH3 reads its
/// input as overlapping 8-byte words that straddle the stores, and a load that no single store covers waits for the
/// stores to retire instead of being forwarded. Up to 128 bytes XXH3 reads each byte through a fixed
/// set of words (the first and last 8 or 16, then inward), so this reads the same words straight from the chars,
/// narrowing 8 chars to 8 bytes in a vector register, and never writes the bytes anywhere.
/// </para>
/// <para>
/// Up to 16 bytes the words XXH3 reads cover every byte of the input, so OR-ing the chars they were narrowed from
/// also tells whether the key is ASCII; longer keys are checked with <see cref="Ascii.IsValid(ReadOnlySpan{char})"/>
/// before any mixing. When a key is not ASCII (or is longer than <see cref="MaxLength"/>) <see cref="TryHash"/> returns false and
/// <see cref="KeyHasher"/> transcodes as before. The functions follow the XXH3 specification's short-input
/// paths (0, 1–3, 4–8, 9–16 and 17–128 bytes, the last up to 64) with seed 0; AsciiTextHashTests checks them against
/// <c>xxhsum -H3</c> for every length from 0 to 130 and against System.IO.Hashing for generated ASCII and non-ASCII keys.
/// </para>
/// </remarks>
internal static class AsciiXxh3
{
    /// <summary>
    /// The longest key this path hashes. XXH3 reads up to 128 bytes in fixed words, but past 64 chars narrowing every
    /// 16-char block in a vector register cost more than transcoding (100 chars: 23.7 ns against 20.9 ns; export
    /// <c>*TextKeyHashBenchmarks-register-path-to-128*</c>), so longer keys are transcoded.
    /// </summary>
    public const int MaxLength = 64;

    // Any bit above 0x7F in any of four UTF-16 chars packed into a 64-bit word.
    private const ulong NonAsciiBits = 0xFF80_FF80_FF80_FF80UL;

    /// <summary>
    /// Hashes <paramref name="key"/> as its UTF-8 bytes when every char is ASCII and there are at most
    /// <see cref="MaxLength"/> of them.
    /// </summary>
    /// <param name="key">The text key.</param>
    /// <param name="hash">XXH3-64 of the key's bytes; 0 when the method returns false.</param>
    /// <returns>False for a key longer than <see cref="MaxLength"/> chars or with a char above U+007F.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryHash(ReadOnlySpan<char> key, out ulong hash)
    {
        if (!BitConverter.IsLittleEndian)
        {
            // The narrowing below reads bytes in little-endian order; a big-endian machine transcodes instead.
            return Fail(out hash);
        }

        int length = key.Length;
        ref ushort chars = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(key));
        if (length > 16)
        {
            // PERF: the ASCII check first (vectorized, ~2 ns for a UUID), so a non-ASCII key falls back before any mixing.
            if (length > MaxLength || !Ascii.IsValid(key))
            {
                return Fail(out hash);
            }

            hash = Hash17To64(ref chars, length);
            return true;
        }

        if (length > 8)
        {
            // 9–16 bytes: the first 8 and the last 8 (they overlap below 16).
            Vector128<ushort> first = Vector128.LoadUnsafe(ref chars);
            Vector128<ushort> last = Vector128.LoadUnsafe(ref chars, (nuint)(length - 8));
            if (!IsAscii(first | last))
            {
                return Fail(out hash);
            }

            ulong lo = Narrow(first) ^ Bitflip9To16Lo;
            ulong hi = Narrow(last) ^ Bitflip9To16Hi;
            hash = Avalanche((ulong)length + BinaryPrimitives.ReverseEndianness(lo) + hi + MulFold64(lo, hi));
            return true;
        }

        if (length >= 4)
        {
            // 4–8 bytes: the first 4 and the last 4, each 4 chars read as one 64-bit word.
            ulong first = Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<ushort, byte>(ref chars));
            ulong last = Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<ushort, byte>(ref Unsafe.Add(ref chars, length - 4)));
            if (((first | last) & NonAsciiBits) != 0)
            {
                return Fail(out hash);
            }

            ulong keyed = (NarrowFour(last) + (NarrowFour(first) << 32)) ^ Bitflip4To8;
            hash = RrMxMx(keyed, (ulong)length);
            return true;
        }

        if (length > 0)
        {
            // 1–3 bytes: the first, the middle and the last (every char of the key).
            uint c1 = chars;
            uint c2 = Unsafe.Add(ref chars, length >> 1);
            uint c3 = Unsafe.Add(ref chars, length - 1);
            if ((c1 | c2 | c3) > 0x7F)
            {
                return Fail(out hash);
            }

            uint combined = (c1 << 16) | (c2 << 24) | c3 | ((uint)length << 8);
            hash = Xxh64Avalanche(combined ^ Bitflip1To3);
            return true;
        }

        hash = EmptyHash;
        return true;
    }

    // XXH3's 17–128-byte path up to 64: pairs of 16-byte blocks from both ends inward, each mixed with its own 16 bytes
    // of the secret (the pairs for 65–128 bytes, at secret offsets 64–127, are never reached here).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong Hash17To64(ref ushort chars, int length)
    {
        ulong acc = (ulong)length * Prime64_1;
        if (length > 32)
        {
            acc += Mix16(ref chars, 16, 32);
            acc += Mix16(ref chars, length - 32, 48);
        }

        acc += Mix16(ref chars, 0, 0);
        acc += Mix16(ref chars, length - 16, 16);
        return Avalanche(acc);
    }

    // 16 ASCII chars at charOffset, read as XXH3 reads 16 bytes: two little-endian words, mixed with the secret's.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix16(ref ushort chars, int charOffset, int secretOffset)
    {
        Vector128<ulong> bytes = Vector128.Narrow(
            Vector128.LoadUnsafe(ref chars, (nuint)charOffset),
            Vector128.LoadUnsafe(ref chars, (nuint)(charOffset + 8))).AsUInt64();
        ref byte secret = ref MemoryMarshal.GetReference(DefaultSecret);
        ulong secretLo = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref secret, secretOffset));
        ulong secretHi = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref secret, secretOffset + 8));
        return MulFold64(bytes.GetElement(0) ^ secretLo, bytes.GetElement(1) ^ secretHi);
    }

    private static bool Fail(out ulong hash)
    {
        hash = 0;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsAscii(Vector128<ushort> chars) => (chars & Vector128.Create((ushort)0xFF80)) == Vector128<ushort>.Zero;

    // Eight ASCII chars → their eight bytes, first char in the low byte (a little-endian read of the bytes).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Narrow(Vector128<ushort> chars) => Vector128.Narrow(chars, chars).AsUInt64().ToScalar();

    // Four ASCII chars in one 64-bit word (each in 16 bits, first char lowest) → their four bytes, first lowest.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong NarrowFour(ulong chars)
    {
        chars = (chars | (chars >> 8)) & 0x0000_FFFF_0000_FFFFUL;
        return (chars | (chars >> 16)) & 0xFFFF_FFFFUL;
    }
}
