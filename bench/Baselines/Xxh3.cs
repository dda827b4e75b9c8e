using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static LockFree.Balancing.Hashing.Xxh3Mixing;

namespace LockFree.Balancing.Benchmarks.Baselines;

/// <summary>
/// The library's own XXH3-64 port (src/LockFree.Balancing/Hashing/Xxh3.cs until the hash moved to
/// System.IO.Hashing's <c>XxHash3</c>), kept here as the row <c>HashBenchmarks</c> compares the package with. Its
/// constants, secret and mixing steps now come from the library's <c>Hashing/Xxh3Mixing</c> (the same code, one copy
/// since <c>AsciiXxh3</c> needed them too). Its original remarks follow.
/// </summary>
/// <remarks>
/// <para>
/// This exists because <c>System.IO.Hashing</c> is not available from the package registry this library
/// is built against. It computes exactly the same function as
/// <c>System.IO.Hashing.XxHash3.HashToUInt64(data)</c> (seed 0), which can replace it later without
/// changing any hash value.
/// </para>
/// <para>
/// Inputs are read as little-endian words (as the algorithm defines), so results are identical on
/// big-endian hardware. Inputs of up to 128 bytes (the common case for load-balancer keys) take fully
/// inlined scalar paths; inputs above 240 bytes take the long path, which uses AVX2 when available.
/// The method is allocation-free and thread-safe.
/// </para>
/// </remarks>
internal static class Xxh3
{
    private const ulong Prime32_1 = 0x9E3779B1UL;
    private const ulong Prime32_2 = 0x85EBCA77UL;
    private const ulong Prime32_3 = 0xC2B2AE3DUL;
    private const ulong Prime64_4 = 0x85EBCA77C2B2AE63UL;
    private const ulong Prime64_5 = 0x27D4EB2F165667C5UL;

    private const int SecretSize = 192;
    private const int StripeLength = 64;
    private const int SecretConsumeRate = 8;
    private const int StripesPerBlock = (SecretSize - StripeLength) / SecretConsumeRate; // 16
    private const int BlockLength = StripeLength * StripesPerBlock;                     // 1024
    private const int ScrambleSecretOffset = SecretSize - StripeLength;                 // 128
    private const int LastStripeSecretOffset = SecretSize - StripeLength - 7;           // 121
    private const int MergeSecretOffset = 11;
    private const int MidSizeStartOffset = 3;
    private const int MidSizeLastOffset = 136 - 17;                                     // 119

    /// <summary>Hashes <paramref name="data"/> with XXH3-64, seed 0.</summary>
    /// <param name="data">The bytes to hash (any length, any alignment).</param>
    /// <returns>The XXH3-64 hash, equal to the value printed by <c>xxhsum -H3</c>.</returns>
    public static ulong Hash64(ReadOnlySpan<byte> data)
    {
        int length = data.Length;
        ref byte input = ref MemoryMarshal.GetReference(data);

        if (length <= 16)
        {
            return HashUpTo16(ref input, length);
        }

        if (length <= 128)
        {
            return Hash17To128(ref input, length);
        }

        if (length <= 240)
        {
            return Hash129To240(ref input, length);
        }

        return HashLong(ref input, length, allowSimd: true);
    }

    /// <summary>
    /// Same function as <see cref="Hash64"/>, but the long path (&gt; 240 bytes) never uses SIMD.
    /// Exists so the tests can check the portable path on hardware that has AVX2.
    /// </summary>
    internal static ulong Hash64Portable(ReadOnlySpan<byte> data) =>
        data.Length > 240
            ? HashLong(ref MemoryMarshal.GetReference(data), data.Length, allowSimd: false)
            : Hash64(data);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong HashUpTo16(ref byte input, int length)
    {
        if (length > 8)
        {
            ulong lo = Read64(ref input, 0) ^ Bitflip9To16Lo;
            ulong hi = Read64(ref input, length - 8) ^ Bitflip9To16Hi;
            ulong acc = (ulong)length + BinaryPrimitives.ReverseEndianness(lo) + hi + MulFold64(lo, hi);
            return Avalanche(acc);
        }

        if (length >= 4)
        {
            ulong first = Read32(ref input, 0);
            ulong last = Read32(ref input, length - 4);
            ulong keyed = (last + (first << 32)) ^ Bitflip4To8;
            return RrMxMx(keyed, (ulong)length);
        }

        if (length > 0)
        {
            uint c1 = input;
            uint c2 = Unsafe.Add(ref input, length >> 1);
            uint c3 = Unsafe.Add(ref input, length - 1);
            uint combined = (c1 << 16) | (c2 << 24) | c3 | ((uint)length << 8);
            return Xxh64Avalanche(combined ^ Bitflip1To3);
        }

        return EmptyHash;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Hash17To128(ref byte input, int length)
    {
        ref byte secret = ref MemoryMarshal.GetReference(DefaultSecret);
        ulong acc = (ulong)length * Prime64_1;

        if (length > 32)
        {
            if (length > 64)
            {
                if (length > 96)
                {
                    acc += Mix16(ref input, 48, ref secret, 96);
                    acc += Mix16(ref input, length - 64, ref secret, 112);
                }

                acc += Mix16(ref input, 32, ref secret, 64);
                acc += Mix16(ref input, length - 48, ref secret, 80);
            }

            acc += Mix16(ref input, 16, ref secret, 32);
            acc += Mix16(ref input, length - 32, ref secret, 48);
        }

        acc += Mix16(ref input, 0, ref secret, 0);
        acc += Mix16(ref input, length - 16, ref secret, 16);
        return Avalanche(acc);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong Hash129To240(ref byte input, int length)
    {
        ref byte secret = ref MemoryMarshal.GetReference(DefaultSecret);
        ulong acc = (ulong)length * Prime64_1;

        for (int i = 0; i < 8; i++)
        {
            acc += Mix16(ref input, 16 * i, ref secret, 16 * i);
        }

        acc = Avalanche(acc);

        int rounds = length / 16;
        for (int i = 8; i < rounds; i++)
        {
            acc += Mix16(ref input, 16 * i, ref secret, (16 * (i - 8)) + MidSizeStartOffset);
        }

        acc += Mix16(ref input, length - 16, ref secret, MidSizeLastOffset);
        return Avalanche(acc);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong HashLong(ref byte input, int length, bool allowSimd)
    {
        if (allowSimd && Avx2.IsSupported && BitConverter.IsLittleEndian)
        {
            return HashLongAvx2(ref input, length);
        }

        ref byte secret = ref MemoryMarshal.GetReference(DefaultSecret);
        Span<ulong> acc = stackalloc ulong[8];
        acc[0] = Prime32_3;
        acc[1] = Prime64_1;
        acc[2] = Prime64_2;
        acc[3] = Prime64_3;
        acc[4] = Prime64_4;
        acc[5] = Prime32_2;
        acc[6] = Prime64_5;
        acc[7] = Prime32_1;

        int blocks = (length - 1) / BlockLength;
        for (int b = 0; b < blocks; b++)
        {
            int blockStart = b * BlockLength;
            for (int s = 0; s < StripesPerBlock; s++)
            {
                Accumulate512(acc, ref Unsafe.Add(ref input, blockStart + (s * StripeLength)), ref Unsafe.Add(ref secret, s * SecretConsumeRate));
            }

            Scramble(acc, ref Unsafe.Add(ref secret, ScrambleSecretOffset));
        }

        int tailStart = blocks * BlockLength;
        int tailStripes = (length - 1 - tailStart) / StripeLength;
        for (int s = 0; s < tailStripes; s++)
        {
            Accumulate512(acc, ref Unsafe.Add(ref input, tailStart + (s * StripeLength)), ref Unsafe.Add(ref secret, s * SecretConsumeRate));
        }

        Accumulate512(acc, ref Unsafe.Add(ref input, length - StripeLength), ref Unsafe.Add(ref secret, LastStripeSecretOffset));

        return Merge(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7], length);
    }

    private static void Accumulate512(Span<ulong> acc, ref byte stripe, ref byte secret)
    {
        for (int i = 0; i < 8; i++)
        {
            ulong value = Read64(ref stripe, 8 * i);
            ulong keyed = value ^ Read64(ref secret, 8 * i);
            acc[i ^ 1] += value;
            acc[i] += (keyed & 0xFFFFFFFFUL) * (keyed >> 32);
        }
    }

    private static void Scramble(Span<ulong> acc, ref byte secret)
    {
        for (int i = 0; i < 8; i++)
        {
            ulong a = acc[i];
            a ^= a >> 47;
            a ^= Read64(ref secret, 8 * i);
            acc[i] = a * Prime32_1;
        }
    }

    private static ulong HashLongAvx2(ref byte input, int length)
    {
        ref byte secret = ref MemoryMarshal.GetReference(DefaultSecret);
        Vector256<ulong> acc0 = Vector256.Create(Prime32_3, Prime64_1, Prime64_2, Prime64_3);
        Vector256<ulong> acc1 = Vector256.Create(Prime64_4, Prime32_2, Prime64_5, Prime32_1);

        int blocks = (length - 1) / BlockLength;
        for (int b = 0; b < blocks; b++)
        {
            ref byte block = ref Unsafe.Add(ref input, b * BlockLength);
            for (int s = 0; s < StripesPerBlock; s++)
            {
                Accumulate512Avx2(ref acc0, ref acc1, ref Unsafe.Add(ref block, s * StripeLength), ref Unsafe.Add(ref secret, s * SecretConsumeRate));
            }

            ScrambleAvx2(ref acc0, ref acc1, ref Unsafe.Add(ref secret, ScrambleSecretOffset));
        }

        int tailStart = blocks * BlockLength;
        int tailStripes = (length - 1 - tailStart) / StripeLength;
        for (int s = 0; s < tailStripes; s++)
        {
            Accumulate512Avx2(ref acc0, ref acc1, ref Unsafe.Add(ref input, tailStart + (s * StripeLength)), ref Unsafe.Add(ref secret, s * SecretConsumeRate));
        }

        Accumulate512Avx2(ref acc0, ref acc1, ref Unsafe.Add(ref input, length - StripeLength), ref Unsafe.Add(ref secret, LastStripeSecretOffset));

        return Merge(
            acc0.GetElement(0), acc0.GetElement(1), acc0.GetElement(2), acc0.GetElement(3),
            acc1.GetElement(0), acc1.GetElement(1), acc1.GetElement(2), acc1.GetElement(3),
            length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate512Avx2(ref Vector256<ulong> acc0, ref Vector256<ulong> acc1, ref byte stripe, ref byte secret)
    {
        acc0 = Accumulate256Avx2(acc0, Unsafe.ReadUnaligned<Vector256<ulong>>(ref stripe), Unsafe.ReadUnaligned<Vector256<ulong>>(ref secret));
        acc1 = Accumulate256Avx2(
            acc1,
            Unsafe.ReadUnaligned<Vector256<ulong>>(ref Unsafe.Add(ref stripe, 32)),
            Unsafe.ReadUnaligned<Vector256<ulong>>(ref Unsafe.Add(ref secret, 32)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Accumulate256Avx2(Vector256<ulong> acc, Vector256<ulong> data, Vector256<ulong> key)
    {
        Vector256<ulong> keyed = data ^ key;
        // (low 32 bits) * (high 32 bits) of each 64-bit lane: vpmuludq.
        Vector256<ulong> product = Avx2.Multiply(keyed.AsUInt32(), Avx2.ShiftRightLogical(keyed, 32).AsUInt32());
        // acc[i ^ 1] += data[i]: swap the 64-bit halves of each 128-bit lane (pshufd 0x4E).
        Vector256<ulong> swapped = Avx2.Shuffle(data.AsUInt32(), 0x4E).AsUInt64();
        return acc + swapped + product;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScrambleAvx2(ref Vector256<ulong> acc0, ref Vector256<ulong> acc1, ref byte secret)
    {
        acc0 = Scramble256Avx2(acc0, Unsafe.ReadUnaligned<Vector256<ulong>>(ref secret));
        acc1 = Scramble256Avx2(acc1, Unsafe.ReadUnaligned<Vector256<ulong>>(ref Unsafe.Add(ref secret, 32)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Scramble256Avx2(Vector256<ulong> acc, Vector256<ulong> key)
    {
        acc ^= Avx2.ShiftRightLogical(acc, 47);
        acc ^= key;
        // acc * PRIME32_1 (mod 2^64) as lo32 * p + ((hi32 * p) << 32).
        Vector256<uint> prime = Vector256.Create(Prime32_1).AsUInt32();
        Vector256<ulong> lo = Avx2.Multiply(acc.AsUInt32(), prime);
        Vector256<ulong> hi = Avx2.Multiply(Avx2.ShiftRightLogical(acc, 32).AsUInt32(), prime);
        return lo + Avx2.ShiftLeftLogical(hi, 32);
    }

    private static ulong Merge(ulong a0, ulong a1, ulong a2, ulong a3, ulong a4, ulong a5, ulong a6, ulong a7, int length)
    {
        ulong result = (ulong)length * Prime64_1;
        result += MulFold64(a0 ^ ReadSecret64(MergeSecretOffset), a1 ^ ReadSecret64(MergeSecretOffset + 8));
        result += MulFold64(a2 ^ ReadSecret64(MergeSecretOffset + 16), a3 ^ ReadSecret64(MergeSecretOffset + 24));
        result += MulFold64(a4 ^ ReadSecret64(MergeSecretOffset + 32), a5 ^ ReadSecret64(MergeSecretOffset + 40));
        result += MulFold64(a6 ^ ReadSecret64(MergeSecretOffset + 48), a7 ^ ReadSecret64(MergeSecretOffset + 56));
        return Avalanche(result);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix16(ref byte input, int inputOffset, ref byte secret, int secretOffset)
    {
        ulong lo = Read64(ref input, inputOffset) ^ Read64(ref secret, secretOffset);
        ulong hi = Read64(ref input, inputOffset + 8) ^ Read64(ref secret, secretOffset + 8);
        return MulFold64(lo, hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Read64(ref byte source, int offset)
    {
        ulong value = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref source, offset));
        return BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Read32(ref byte source, int offset)
    {
        uint value = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref source, offset));
        return BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);
    }
}
