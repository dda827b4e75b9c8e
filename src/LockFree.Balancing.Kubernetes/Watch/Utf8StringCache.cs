using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace LockFree.Balancing.Kubernetes.Watch;

/// <summary>
/// Turns short UTF-8 JSON strings (slice names, addresses, zones, node names, port names) into
/// <see cref="string"/>s, returning the instance already held when the same text was seen before.
/// </summary>
/// <remarks>
/// PERF: watch streams repeat the same few hundred strings in every event; looking them up by their
/// characters (transcoded on the stack) means an unchanged endpoint allocates no string. The cache is
/// bounded: it is cleared when it reaches <see cref="MaxEntries"/>. Not thread-safe: one per watch loop.
/// </remarks>
internal sealed class Utf8StringCache
{
    internal const int MaxEntries = 8192;
    internal const int MaxCachedLength = 256;

    private readonly HashSet<string> _strings = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _byChars;

    public Utf8StringCache()
    {
        _byChars = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _strings.Count;

    /// <summary>
    /// The string value of the reader's current String token: <paramref name="expected"/> itself when the token spells it
    /// (the value held from the previous event), otherwise the shared instance from the cache.
    /// </summary>
    /// <remarks>PERF: most values of a MODIFIED event equal the held ones; comparing bytes against the held string skips the transcode and the hash lookup.</remarks>
    public string Get(ref Utf8JsonReader reader, string? expected)
    {
        if (expected is not null && reader.TokenType == JsonTokenType.String && !reader.HasValueSequence && !reader.ValueIsEscaped
            && reader.ValueSpan.Length >= expected.Length && reader.ValueSpan.Length <= expected.Length * 3
            && Utf8Equals(reader.ValueSpan, expected))
        {
            return expected;
        }

        return Get(ref reader);
    }

    /// <summary>The string value of the reader's current String token, shared when seen before.</summary>
    public string Get(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new InvalidWatchDataException($"Expected a JSON string but found {reader.TokenType}.");
        }

        if (reader.HasValueSequence || reader.ValueIsEscaped || reader.ValueSpan.Length > MaxCachedLength)
        {
            return Intern(reader.GetString()!);
        }

        Span<char> chars = stackalloc char[MaxCachedLength];
        if (Utf8.ToUtf16(reader.ValueSpan, chars, out _, out int written, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            return reader.GetString()!; // throws the reader's own error for invalid UTF-8
        }

        ReadOnlySpan<char> text = chars[..written];
        if (_byChars.TryGetValue(text, out string? existing))
        {
            return existing;
        }

        return Intern(text.ToString());
    }

    private static bool Utf8Equals(ReadOnlySpan<byte> utf8, string text)
    {
        // ASCII fast path (addresses, node names, zones): byte i equals char i. Ascii.Equals also answers false when
        // either side is not ASCII, so UTF-8 "\xC3\xA9" ("é") never equals the two chars U+00C3 U+00A9: a byte-for-char
        // comparison would call them equal. Non-ASCII text of equal length goes on to the transcoding comparison below.
        if (utf8.Length == text.Length && Ascii.Equals(utf8, text))
        {
            return true;
        }

        Span<char> chars = stackalloc char[MaxCachedLength];
        return utf8.Length <= MaxCachedLength
               && Utf8.ToUtf16(utf8, chars, out _, out int written, replaceInvalidSequences: false) == OperationStatus.Done
               && chars[..written].SequenceEqual(text);
    }

    private string Intern(string value)
    {
        if (value.Length > MaxCachedLength)
        {
            return value;
        }

        if (_strings.TryGetValue(value, out string? existing))
        {
            return existing;
        }

        if (_strings.Count >= MaxEntries)
        {
            _strings.Clear();
        }

        _strings.Add(value);
        return value;
    }
}
