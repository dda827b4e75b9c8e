namespace LockFree.Balancing.Fuzz.Engine;

/// <summary>Text as the raw UTF-16 code units a target decodes from its input (low byte first), for seeds.</summary>
internal static class Utf16Input
{
    /// <summary>The code units of <paramref name="text"/>, two bytes each, low byte first.</summary>
    /// <param name="text">The text, lone surrogates included.</param>
    /// <returns>The bytes.</returns>
    public static byte[] Bytes(string text)
    {
        byte[] bytes = new byte[text.Length * 2];
        for (int i = 0; i < text.Length; i++)
        {
            bytes[2 * i] = (byte)text[i];
            bytes[(2 * i) + 1] = (byte)(text[i] >> 8);
        }

        return bytes;
    }
}
