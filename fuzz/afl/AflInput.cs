using System.Text;

namespace LockFree.Balancing.Fuzz.Afl;

/// <summary>Turns AFL's input stream into the byte array a target takes, and a target's tokens into an AFL dictionary.</summary>
internal static class AflInput
{
    /// <summary>Reads the whole input, cut at <paramref name="maxLength"/> exactly as the seeded fuzzer cuts it.</summary>
    public static byte[] Read(Stream stream, int maxLength)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        byte[] input = buffer.ToArray();
        return input.Length <= maxLength ? input : input[..maxLength];
    }

    /// <summary>The AFL <c>-x</c> format: one <c>name="value"</c> line per token, non-printable bytes as <c>\xNN</c>.</summary>
    public static string Dictionary(IReadOnlyList<byte[]> tokens)
    {
        var text = new StringBuilder();
        for (int i = 0; i < tokens.Count; i++)
        {
            text.Append("token_").Append(i).Append("=\"");
            foreach (byte b in tokens[i])
            {
                if (b is >= 0x20 and < 0x7f and not (byte)'"' and not (byte)'\\')
                {
                    text.Append((char)b);
                }
                else
                {
                    text.Append("\\x").Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            text.Append("\"\n");
        }

        return text.ToString();
    }
}
