using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace LockFree.Balancing.Hashing;

/// <summary>
/// XXH3's constants and mixing steps (seed 0, default secret), as the specification defines them: the one copy that
/// <see cref="AsciiXxh3"/> and the bench's frozen XXH3 port (<c>bench/Baselines/Xxh3.cs</c>) both use.
/// </summary>
internal static class Xxh3Mixing
{
    public const ulong Prime64_1 = 0x9E3779B185EBCA87UL;
    public const ulong Prime64_2 = 0xC2B2AE3D27D4EB4FUL;
    public const ulong Prime64_3 = 0x165667B19E3779F9UL;
    public const ulong PrimeMx1 = 0x165667919E3779F9UL;
    public const ulong PrimeMx2 = 0x9FB21C651E98DF25UL;

    // Secret-derived constants of the short paths (seed 0). static readonly primitives become JIT-time constants once
    // the type is initialised (tier-1 code), so the hot paths do not touch the table.
    public static readonly ulong EmptyHash = Xxh64Avalanche(ReadSecret64(56) ^ ReadSecret64(64));
    public static readonly ulong Bitflip1To3 = ReadSecret32(0) ^ ReadSecret32(4);
    public static readonly ulong Bitflip4To8 = ReadSecret64(8) ^ ReadSecret64(16);
    public static readonly ulong Bitflip9To16Lo = ReadSecret64(24) ^ ReadSecret64(32);
    public static readonly ulong Bitflip9To16Hi = ReadSecret64(40) ^ ReadSecret64(48);

    /// <summary>The default XXH3 secret (kSecret), 192 bytes. Compiled into the data section (no allocation).</summary>
    public static ReadOnlySpan<byte> DefaultSecret =>
    [
        0xB8, 0xFE, 0x6C, 0x39, 0x23, 0xA4, 0x4B, 0xBE, 0x7C, 0x01, 0x81, 0x2C, 0xF7, 0x21, 0xAD, 0x1C,
        0xDE, 0xD4, 0x6D, 0xE9, 0x83, 0x90, 0x97, 0xDB, 0x72, 0x40, 0xA4, 0xA4, 0xB7, 0xB3, 0x67, 0x1F,
        0xCB, 0x79, 0xE6, 0x4E, 0xCC, 0xC0, 0xE5, 0x78, 0x82, 0x5A, 0xD0, 0x7D, 0xCC, 0xFF, 0x72, 0x21,
        0xB8, 0x08, 0x46, 0x74, 0xF7, 0x43, 0x24, 0x8E, 0xE0, 0x35, 0x90, 0xE6, 0x81, 0x3A, 0x26, 0x4C,
        0x3C, 0x28, 0x52, 0xBB, 0x91, 0xC3, 0x00, 0xCB, 0x88, 0xD0, 0x65, 0x8B, 0x1B, 0x53, 0x2E, 0xA3,
        0x71, 0x64, 0x48, 0x97, 0xA2, 0x0D, 0xF9, 0x4E, 0x38, 0x19, 0xEF, 0x46, 0xA9, 0xDE, 0xAC, 0xD8,
        0xA8, 0xFA, 0x76, 0x3F, 0xE3, 0x9C, 0x34, 0x3F, 0xF9, 0xDC, 0xBB, 0xC7, 0xC7, 0x0B, 0x4F, 0x1D,
        0x8A, 0x51, 0xE0, 0x4B, 0xCD, 0xB4, 0x59, 0x31, 0xC8, 0x9F, 0x7E, 0xC9, 0xD9, 0x78, 0x73, 0x64,
        0xEA, 0xC5, 0xAC, 0x83, 0x34, 0xD3, 0xEB, 0xC3, 0xC5, 0x81, 0xA0, 0xFF, 0xFA, 0x13, 0x63, 0xEB,
        0x17, 0x0D, 0xDD, 0x51, 0xB7, 0xF0, 0xDA, 0x49, 0xD3, 0x16, 0x55, 0x26, 0x29, 0xD4, 0x68, 0x9E,
        0x2B, 0x16, 0xBE, 0x58, 0x7D, 0x47, 0xA1, 0xFC, 0x8F, 0xF8, 0xB8, 0xD1, 0x7A, 0xD0, 0x31, 0xCE,
        0x45, 0xCB, 0x3A, 0x8F, 0x95, 0x16, 0x04, 0x28, 0xAF, 0xD7, 0xFB, 0xCA, 0xBB, 0x4B, 0x40, 0x7E,
    ];

    public static ulong ReadSecret64(int offset) => BinaryPrimitives.ReadUInt64LittleEndian(DefaultSecret.Slice(offset, 8));

    public static uint ReadSecret32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(DefaultSecret.Slice(offset, 4));

    /// <summary>The 128-bit product of the two words, its halves XOR-ed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MulFold64(ulong left, ulong right)
    {
        ulong high = Math.BigMul(left, right, out ulong low);
        return high ^ low;
    }

    /// <summary>XXH3's final mix (<c>XXH3_avalanche</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Avalanche(ulong hash)
    {
        hash ^= hash >> 37;
        hash *= PrimeMx1;
        return hash ^ (hash >> 32);
    }

    /// <summary>The 4–8-byte path's final mix (<c>XXH3_rrmxmx</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong RrMxMx(ulong hash, ulong length)
    {
        hash ^= BitOperations.RotateLeft(hash, 49) ^ BitOperations.RotateLeft(hash, 24);
        hash *= PrimeMx2;
        hash ^= (hash >> 35) + length;
        hash *= PrimeMx2;
        return hash ^ (hash >> 28);
    }

    /// <summary>XXH64's final mix, which XXH3 uses for 0–3 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Xxh64Avalanche(ulong hash)
    {
        hash ^= hash >> 33;
        hash *= Prime64_2;
        hash ^= hash >> 29;
        hash *= Prime64_3;
        return hash ^ (hash >> 32);
    }
}
