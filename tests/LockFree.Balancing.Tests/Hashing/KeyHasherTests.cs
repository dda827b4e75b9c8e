using System.Text;
using LockFree.Balancing.Hashing;
using Xunit;

namespace LockFree.Balancing.Tests.Hashing;

// Reference vectors: every expected value below was produced by the reference implementation,
// xxhsum 0.8.1 (Debian package `xxhash`), as `xxhsum -H3 FILE` (XXH3-64, seed 0, default secret).
// xxhsum prints the canonical big-endian form, so its hex output IS the ulong value
// (e.g. empty input -> "XXH3 (FILE) = 2d06800538d394c2" -> 0x2D06800538D394C2UL).
// Pattern inputs: byte i = ((i * 2654435761) mod 2^32) >> 24 (see Pattern below).
//
// To regenerate (bash + python3; prints "(length, 0x...UL)" and ("string", 0x...UL) rows; also kept as regenerate-xxh3-vectors.sh beside this file):
//
//   # Regenerates the KeyHasherTests reference vectors with the reference implementation (xxhsum 0.8.1, -H3 = XXH3-64, seed 0).
//   # Input byte i = ((i * 2654435761) mod 2^32) >> 24. xxhsum prints the canonical (big-endian) form, i.e. the ulong value in hex.
//   set -euo pipefail
//   tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
//   for n in 0 1 2 3 4 5 6 7 8 9 10 12 15 16 17 24 31 32 33 48 63 64 65 80 96 97 112 127 128 129 130 144 160 176 192 200 208 224 239 240 241 255 256 257 300 511 512 1000 1023 1024 1025 1087 1088 1089 2047 2048 2049 4095 4096 4097 10000 16384 16385 65536 100000 1048577; do
//     python3 -c "import sys; n=int(sys.argv[1]); sys.stdout.buffer.write(bytes(((i*2654435761)&0xFFFFFFFF)>>24 for i in range(n)))" "$n" > "$tmp/in"
//     printf '(%d, 0x%sUL),\n' "$n" "$(xxhsum -H3 "$tmp/in" | sed -E 's/.* = ([0-9a-f]{16})$/\1/')"
//   done
//   for s in "" "a" "abc" "10.0.0.7:8080" "user-42" "0123456789abcdef0123456789abcdef"; do
//     printf '%s' "$s" > "$tmp/in"
//     printf '("%s", 0x%sUL),\n' "$s" "$(xxhsum -H3 "$tmp/in" | sed -E 's/.* = ([0-9a-f]{16})$/\1/')"
//   done

/// <summary>
/// The hash seam, <see cref="KeyHasher"/>, against reference vectors from <c>xxhsum -H3</c>: placement depends on
/// these exact values (XXH3-64, seed 0), whatever implementation sits behind the seam (System.IO.Hashing's
/// <c>XxHash3</c> since it replaced the library's own port). Text keys are hashed as their UTF-8 bytes.
/// </summary>
public sealed class KeyHasherTests
{
    // Where the allocation test publishes its hashes, so that the calls it measures cannot be optimized away.
    private static ulong s_folded;

    private static readonly string s_text = new(Enumerable.Range(0, 256).Select(i => (char)('a' + (i % 26))).ToArray());

    /// <summary>Length → XXH3-64 of <see cref="Pattern"/>(length), from <c>xxhsum -H3</c>.
    /// Covers every length class: 0, 1–3, 4–8, 9–16, 17–128, 129–240 and the long path
    /// (partial/whole 1024-byte blocks, stripe boundaries, ~1 MB).</summary>
    public static TheoryData<int, ulong> PatternVectors => new()
    {
        { 0, 0x2d06800538d394c2UL },
        { 1, 0xc44bdff4074eecdbUL },
        { 2, 0xb0a5d4f167a89d5eUL },
        { 3, 0xe14090f554a5ea90UL },
        { 4, 0x2e8d078a566e9749UL },
        { 5, 0x94b7bed600f8ce63UL },
        { 6, 0x54e61284a9bfcb0bUL },
        { 7, 0xe6f7770846c47df5UL },
        { 8, 0xcd1c7f88482fcaefUL },
        { 9, 0xbfe43def699fa9e3UL },
        { 10, 0x4c09bdacfad76272UL },
        { 12, 0x027242c0a3b593e8UL },
        { 15, 0x9c71639666dfdbc2UL },
        { 16, 0x81e9eb8634460bb9UL },
        { 17, 0x9998430fd0a655beUL },
        { 24, 0x567055635b934e88UL },
        { 31, 0x6427c268ccd55706UL },
        { 32, 0x938c25dd24c9cf3bUL },
        { 33, 0x0e399d30188e9c8eUL },
        { 48, 0xb84347b7c91758ebUL },
        { 63, 0x9e5edf514e6c4ea2UL },
        { 64, 0x22a06b30c4c72936UL },
        { 65, 0x7faff6eee7812d5cUL },
        { 80, 0xce9d3c325755f9e8UL },
        { 96, 0x324046d7ff9771f1UL },
        { 97, 0x00d61f9a16f8effdUL },
        { 112, 0xc7f3f80952a02e36UL },
        { 127, 0x29a5be88e84cd571UL },
        { 128, 0x75eca5c5d5594884UL },
        { 129, 0xa05da42e7a4e4667UL },
        { 130, 0xfdfce09ef5789c83UL },
        { 144, 0x2e63ceed9f938e07UL },
        { 160, 0xd298ab4e6e7de4aaUL },
        { 176, 0xe141700f810f7d64UL },
        { 192, 0xf27a9155f46c22d6UL },
        { 200, 0xe07bfbc15015bf69UL },
        { 208, 0x72f854ca8f11883dUL },
        { 224, 0x4f615a1f2a9dd5f1UL },
        { 239, 0xa44c92feed3d48faUL },
        { 240, 0x5eb2467c8c9e3969UL },
        { 241, 0x2d431e984c441f15UL },
        { 255, 0x6cb5279bb1267b3bUL },
        { 256, 0x1369aaf85f8b805aUL },
        { 257, 0x53d08d96173615deUL },
        { 300, 0xebc3ae32ea3a7d0aUL },
        { 511, 0xe77c8b51c884d077UL },
        { 512, 0xdcfed6ee2883acd0UL },
        { 1000, 0x8d3e88d833cd4a80UL },
        { 1023, 0x4e30bb611faa8f67UL },
        { 1024, 0xe99def1145f12936UL },
        { 1025, 0x83cba9b371e4e7f4UL },
        { 1087, 0x7a31d7be13f5411bUL },
        { 1088, 0x8e7e69b3a7124813UL },
        { 1089, 0xa958a59c9718acc1UL },
        { 2047, 0xa585963f99e7d6a8UL },
        { 2048, 0x53275d58cfba68fdUL },
        { 2049, 0x3cd32460d504d215UL },
        { 4095, 0xb7fc61b323ae5fc3UL },
        { 4096, 0x9bf67f8deff876aeUL },
        { 4097, 0x3dfd517338a4b234UL },
        { 10000, 0xa4fac952f7f219f4UL },
        { 16384, 0x945601853bd214f5UL },
        { 16385, 0x252a5d63712e5f51UL },
        { 65536, 0x20605b76ceddc43bUL },
        { 100000, 0x920056915640359fUL },
        { 1048577, 0x516b4472ef1d03b3UL },
    };

    public static TheoryData<int> UnalignedLengths => new() { 0, 1, 3, 4, 7, 8, 9, 16, 17, 24, 32, 33, 64, 65, 100, 128, 129, 200, 240, 241, 1000, 1025, 4097 };

    [Theory]
    [MemberData(nameof(PatternVectors))]
    public void Hash_ReferenceVectors_MatchXxhsum(int length, ulong expected)
    {
        Assert.Equal(expected, KeyHasher.Hash(Pattern(length)));
    }

    [Theory]
    [InlineData("", 0x2d06800538d394c2UL)]
    [InlineData("a", 0xe6c632b61e964e1fUL)]
    [InlineData("abc", 0x78af5f94892f3950UL)]
    [InlineData("10.0.0.7:8080", 0x2528d59b40e2a980UL)]
    [InlineData("user-42", 0x50fe4b21cf7b09cdUL)]
    [InlineData("0123456789abcdef0123456789abcdef", 0x01121d5b6c0ac055UL)]
    public void Hash_AsciiKeysAsBytesAndAsText_MatchXxhsum(string key, ulong expected)
    {
        Assert.Equal(expected, KeyHasher.Hash(Encoding.ASCII.GetBytes(key)));
        Assert.Equal(expected, KeyHasher.Hash(key.AsSpan()));
    }

    [Fact]
    public void Hash_EmptySpan_MatchesKnownEmptyHash()
    {
        Assert.Equal(0x2D06800538D394C2UL, KeyHasher.Hash(ReadOnlySpan<byte>.Empty));
        Assert.Equal(0x2D06800538D394C2UL, KeyHasher.Hash(ReadOnlySpan<char>.Empty));
    }

    [Fact]
    public void Hash_TextKey_IsTheHashOfItsUtf8Bytes()
    {
        // Non-ASCII, a surrogate pair, unpaired surrogates (which Encoding.UTF8 turns into U+FFFD, EF BF BD).
        string[] keys = ["héllo-wörld", "用户-42", "emoji-\U0001F600-key", "lone-\uD800-surrogate", "trailing-\uDC00"];
        foreach (string key in keys)
        {
            Assert.Equal(KeyHasher.Hash(Encoding.UTF8.GetBytes(key)), KeyHasher.Hash(key.AsSpan()));
        }
    }

    [Fact]
    public void Hash_UnpairedSurrogate_HashesAsReplacementCharacter()
        => Assert.Equal(KeyHasher.Hash(new byte[] { (byte)'a', 0xEF, 0xBF, 0xBD, (byte)'b' }), KeyHasher.Hash("a\uD800b".AsSpan()));

    [Theory]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(1000)]
    [InlineData(5000)]
    public void Hash_TextKeysAroundTheStackLimit_AreTheHashOfTheirUtf8Bytes(int length)
    {
        // 256 chars is where the UTF-8 bytes move from the stack to a pooled buffer; both paths must agree.
        string ascii = new(Enumerable.Range(0, length).Select(i => (char)('a' + (i % 26))).ToArray());
        string wide = new(Enumerable.Range(0, length).Select(i => i % 3 == 0 ? '€' : (char)('a' + (i % 26))).ToArray());
        Assert.Equal(KeyHasher.Hash(Encoding.UTF8.GetBytes(ascii)), KeyHasher.Hash(ascii.AsSpan()));
        Assert.Equal(KeyHasher.Hash(Encoding.UTF8.GetBytes(wide)), KeyHasher.Hash(wide.AsSpan()));
    }

    [Theory]
    [MemberData(nameof(UnalignedLengths))]
    public void Hash_UnalignedSlicesAtOffsets1To7_SameHash(int length)
    {
        byte[] pattern = Pattern(length);
        ulong expected = KeyHasher.Hash(pattern);

        for (int offset = 1; offset <= 7; offset++)
        {
            byte[] buffer = new byte[length + offset + 8];
            Array.Fill(buffer, (byte)0xA5); // garbage around the slice must not leak into the hash
            pattern.CopyTo(buffer, offset);

            Assert.Equal(expected, KeyHasher.Hash(buffer.AsSpan(offset, length)));
        }
    }

    [Fact]
    public void Hash_SingleBitFlip_ChangesHash()
    {
        foreach (int length in new[] { 1, 5, 12, 24, 64, 200, 2000 })
        {
            byte[] data = Pattern(length);
            ulong original = KeyHasher.Hash(data);
            for (int bit = 0; bit < length * 8; bit += Math.Max(1, length / 4))
            {
                data[bit / 8] ^= (byte)(1 << (bit % 8));
                Assert.NotEqual(original, KeyHasher.Hash(data));
                data[bit / 8] ^= (byte)(1 << (bit % 8));
            }
        }
    }

    [Fact]
    public void Hash_TenThousandCallsOverBytesAndText_DoesNotAllocate()
    {
        byte[][] inputs = [Pattern(0), Pattern(3), Pattern(8), Pattern(16), Pattern(24), Pattern(64), Pattern(128), Pattern(200), Pattern(5000)];

        // Warm up (JIT, tiering, static initialisation) before measuring.
        HashAll(inputs, 1000);

        // The least of three passes: under a loaded machine the runtime may charge a one-off allocation (tiered
        // recompilation) to this thread; hashing that allocated would allocate in every pass.
        long least = long.MaxValue;
        for (int pass = 0; pass < 3; pass++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            HashAll(inputs, 10_000);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, least);
    }

    private static void HashAll(byte[][] inputs, int calls)
    {
        ulong folded = 0;
        for (int i = 0; i < calls; i++)
        {
            byte[] input = inputs[i % inputs.Length];
            folded ^= KeyHasher.Hash(input);
            if (input.Length <= 200)
            {
                // Text keys up to 256 chars are encoded on the stack: no allocation either.
                folded ^= KeyHasher.Hash(s_text.AsSpan(0, input.Length));
            }
        }

        // Published to a static field so the calls cannot be optimized away.
        Volatile.Write(ref s_folded, folded);
    }

    /// <summary>Deterministic test input: byte i = ((i * 2654435761) mod 2^32) &gt;&gt; 24.</summary>
    private static byte[] Pattern(int length)
    {
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)(((uint)i * 2654435761u) >> 24);
        }

        return data;
    }
}
