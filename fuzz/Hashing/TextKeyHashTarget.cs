using System.IO.Hashing;
using System.Text;
using LockFree.Balancing.Fuzz.Engine;
using LockFree.Balancing.Hashing;

namespace LockFree.Balancing.Fuzz.Hashing;

/// <summary>
/// <see cref="KeyHasher.Hash(ReadOnlySpan{char})"/> on arbitrary text against its definition, computed by code the
/// library does not own: XXH3-64 (System.IO.Hashing, seed 0) of <see cref="Encoding.UTF8"/>'s bytes for the text. Checks
/// the whole key and the key without its first char (another alignment, and a slice of a longer string).
/// </summary>
/// <remarks>
/// Input layout: byte 0 chooses the decoding. 0 maps each byte to the char of the same value, so bytes below 0x80
/// are ASCII and the rest are Latin-1 letters (two UTF-8 bytes). 1 reads raw UTF-16 code units, so lone surrogates and
/// every plane reach the hasher. 2 keeps the low 7 bits of each byte, so the key is pure ASCII and takes the register
/// path (<c>AsciiXxh3</c>) up to its length limit.
/// </remarks>
internal sealed class TextKeyHashTarget : FuzzTarget
{
    public override string Name => "text-key-hash";

    public override string Description => "KeyHasher.Hash(text) equals XXH3-64 (System.IO.Hashing) of the text's UTF-8 bytes";

    public override int MaxInputLength => 512;

    public override IReadOnlyList<byte[]> Dictionary { get; } =
        [.. new[] { "user-", "0f8fad5b-d9cb-469f-a165-70867728950e", "\u00e9", "\u20ac", "\ud83d\ude00", "\ud800", "\u007f", "\u0080" }
            .Select(Encoding.UTF8.GetBytes)];

    public override IEnumerable<(string FileName, byte[] Content)> Seeds()
    {
        foreach (int length in new[] { 0, 1, 3, 4, 8, 9, 16, 17, 32, 33, 64, 65, 130 })
        {
            byte[] ascii = new byte[length + 1];
            ascii[0] = 2;
            for (int i = 1; i < ascii.Length; i++)
            {
                ascii[i] = (byte)('a' + ((i * 7) % 26));
            }

            yield return ($"ascii-{length:000}.bin", ascii);
        }

        yield return ("latin1-uuid.bin", [0, .. "0f8fad5b-d9cb-469f-a165-70867728\u00e9950e"u8]);
        yield return ("utf16-surrogates.bin", [1, .. Utf16Input.Bytes("user-\ud83d\ude00-\ud800-tail-0123456789")]);
        yield return ("utf16-wide-at-end.bin", [1, .. Utf16Input.Bytes(new string('k', 40) + "\u0161")]);
    }

    public override ulong Execute(byte[] input)
    {
        string key = Decode(input);
        Expect(key, key.AsSpan(), "the key");
        if (key.Length > 0)
        {
            Expect(key[1..], key.AsSpan(1), "the key without its first char");
        }

        bool ascii = Ascii.IsValid(key);
        ulong lengthClass = key.Length switch { 0 => 0UL, <= 3 => 1UL, <= 8 => 2UL, <= 16 => 3UL, <= 32 => 4UL, <= 64 => 5UL, <= 128 => 6UL, _ => 7UL };
        ulong mode = input.Length > 0 ? (ulong)(input[0] % 3) : 0UL;
        return (mode << 8) | ((ascii ? 1UL : 0UL) << 4) | lengthClass;
    }

    private static void Expect(string text, ReadOnlySpan<char> span, string what)
    {
        ulong expected = XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(text));
        ulong actual = KeyHasher.Hash(span);
        if (actual != expected)
        {
            throw new InvariantViolationException(
                $"KeyHasher.Hash({what}, {text.Length} chars, ASCII {Ascii.IsValid(text)}) = 0x{actual:x16}, XXH3-64 of its UTF-8 bytes = 0x{expected:x16}");
        }
    }

    private static string Decode(byte[] input)
    {
        if (input.Length == 0)
        {
            return string.Empty;
        }

        ReadOnlySpan<byte> body = input.AsSpan(1);
        switch (input[0] % 3)
        {
            case 1:
                var units = new char[body.Length / 2];
                for (int i = 0; i < units.Length; i++)
                {
                    units[i] = (char)(body[2 * i] | (body[(2 * i) + 1] << 8));
                }

                return new string(units);
            case 2:
                return string.Create(body.Length, input, static (chars, bytes) =>
                {
                    for (int i = 0; i < chars.Length; i++)
                    {
                        chars[i] = (char)(bytes[i + 1] & 0x7F);
                    }
                });
            default:
                return string.Create(body.Length, input, static (chars, bytes) =>
                {
                    for (int i = 0; i < chars.Length; i++)
                    {
                        chars[i] = (char)bytes[i + 1];
                    }
                });
        }
    }
}
