using System.IO.Hashing;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using LockFree.Balancing.Hashing;
using LockFree.Balancing.Tests.Properties;
using Xunit;

namespace LockFree.Balancing.Tests.Hashing;

/// <summary>
/// A text key is hashed as XXH3-64 of its UTF-8 bytes, whichever path computes it: the register path for ASCII keys of
/// up to 64 chars (<see cref="AsciiXxh3"/>), or transcoding for the rest. Checked against <c>xxhsum -H3</c> for every
/// length 0–130 and against System.IO.Hashing over the UTF-8 bytes for generated and adversarial keys.
/// </summary>
public sealed class AsciiTextHashTests
{
    public static TheoryData<int> LengthsUpTo130 => [.. Enumerable.Range(0, AsciiTextHashVectors.Hashes.Length)];

    /// <summary>Chars whose low byte is ASCII or whose UTF-8 form is not one byte: a narrowing that skipped the check would hash them as ASCII.</summary>
    public static TheoryData<char> NonAsciiChars => ['\u0080', '\u00E9', '\u00FF', '\u0161', '\u0141', '\u20AC', '\uD800', '\uDC00', '\uFF41'];

    [Theory]
    [MemberData(nameof(LengthsUpTo130))]
    public void TextHash_AsciiKeyOfEveryLengthTo130_MatchesXxhsum(int length)
    {
        string key = AsciiTextHashVectors.Key(length);

        Assert.Equal(AsciiTextHashVectors.Hashes[length], KeyHasher.Hash(key.AsSpan()));
        Assert.Equal(AsciiTextHashVectors.Hashes[length], KeyHasher.Hash(Encoding.ASCII.GetBytes(key)));
    }

    [Theory]
    [MemberData(nameof(LengthsUpTo130))]
    public void RegisterPath_AsciiKeysUpToMaxLength_TakeItAndLongerOnesFallBack(int length)
    {
        string key = AsciiTextHashVectors.Key(length);

        bool taken = AsciiXxh3.TryHash(key, out ulong hash);

        Assert.Equal(length <= AsciiXxh3.MaxLength, taken);
        Assert.Equal(taken ? AsciiTextHashVectors.Hashes[length] : 0UL, hash);
    }

    [Theory]
    [MemberData(nameof(NonAsciiChars))]
    public void TextHash_OneNonAsciiCharAtAnyPosition_IsTheHashOfTheUtf8Bytes(char wide)
    {
        // Every position of every length the register path covers: the ASCII check must see every char.
        for (int length = 1; length <= AsciiXxh3.MaxLength + 2; length++)
        {
            char[] chars = AsciiTextHashVectors.Key(length).ToCharArray();
            for (int position = 0; position < length; position++)
            {
                char original = chars[position];
                chars[position] = wide;
                string key = new(chars);

                Assert.False(AsciiXxh3.TryHash(key, out _), $"length {length}, U+{(int)wide:X4} at {position}");
                Assert.Equal(XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(key)), KeyHasher.Hash(key.AsSpan()));
                chars[position] = original;
            }
        }
    }

    [Fact]
    public void RegisterPath_KeyInsideALargerBuffer_ReadsOnlyTheKeysChars()
    {
        // Slices of a longer string: chars around the slice (ASCII and not) must change neither the hash nor the verdict.
        string surrounding = "\u00E9" + AsciiTextHashVectors.Key(200) + "\u00E9";
        for (int length = 0; length <= AsciiXxh3.MaxLength; length++)
        {
            for (int offset = 1; offset <= 9; offset += 4)
            {
                ReadOnlySpan<char> key = surrounding.AsSpan(offset, length);

                Assert.True(AsciiXxh3.TryHash(key, out ulong hash));
                Assert.Equal(XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(key.ToArray())), hash);
            }
        }
    }

    [Property(Replay = "31," + Replays.GoldenGamma, MaxTest = 3000, Arbitrary = new[] { typeof(TextKeys) })]
    public void TextHash_AnyKey_IsXxh3OfItsUtf8Bytes(string key)
        => Assert.Equal(XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(key)), KeyHasher.Hash(key.AsSpan()));

    /// <summary>Keys of 0–300 chars, mostly ASCII, one in four with a char from the other planes at a random place.</summary>
    public static class TextKeys
    {
        /// <summary>The generator the property takes.</summary>
        public static Arbitrary<string> Keys()
        {
            Gen<char> ascii = Gen.Choose(0, 127).Select(c => (char)c);
            Gen<char> other = Gen.Elements('\u0080', '\u00FF', '\u0100', '\u07FF', '\u0800', '\u20AC', '\uD83D', '\uDE00', '\uFFFD');
            Gen<char> mostlyAscii = Gen.Frequency((15, ascii), (1, other));
            Gen<int> lengths = Gen.Frequency((6, Gen.Choose(0, 140)), (1, Gen.Choose(141, 300)));
            return lengths
                .SelectMany(length => Gen.Frequency((3, ascii.ArrayOf(length)), (1, mostlyAscii.ArrayOf(length))))
                .Select(chars => new string(chars))
                .ToArbitrary();
        }
    }
}
