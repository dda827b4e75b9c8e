using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace LockFree.Balancing.Kubernetes.Watch;

/// <summary>
/// A <c>metadata.resourceVersion</c> as UTF-8 bytes in a reused buffer, turned into a <see cref="string"/> only when
/// somebody asks for it (a reconnect, a status read, a log line).
/// </summary>
/// <remarks>
/// PERF: every watch event carries a new resourceVersion, but the watch loop only needs it as text when it
/// reconnects; keeping the bytes means an event that changes nothing allocates nothing. Not thread-safe: the
/// watcher's loop owns its buffers, and the copy its status readers see is guarded by its status lock.
/// </remarks>
internal sealed class ResourceVersionBuffer
{
    private byte[] _bytes = new byte[32];
    private int _length = -1; // -1: no resourceVersion
    private string? _text;

    /// <summary>True when a resourceVersion was read, even an empty one.</summary>
    public bool HasValue => _length >= 0;

    /// <summary>False for no resourceVersion and for an empty one: neither can be watched from.</summary>
    public bool IsUsable => _length > 0;

    /// <summary>The resourceVersion as text (created once per value), or <see langword="null"/> when there is none.</summary>
    public string? Text => _length < 0 ? null : _text ??= Encoding.UTF8.GetString(_bytes, 0, _length);

    /// <summary>The raw UTF-8 value.</summary>
    public ReadOnlySpan<byte> Bytes => _length < 0 ? default : _bytes.AsSpan(0, _length);

    public void Clear()
    {
        _length = -1;
        _text = null;
    }

    /// <summary>
    /// Takes the reader's current token: a String is kept (unescaped), anything else (null, an object where a string
    /// belongs) is skipped and leaves no resourceVersion, as <c>ReadOptionalString</c> does for other fields.
    /// </summary>
    /// <exception cref="InvalidOperationException">The string is not valid UTF-8 or holds a lone surrogate escape (System.Text.Json's own error).</exception>
    public void Read(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            Clear();
            return;
        }

        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            Set(reader.GetString()!); // rare: the reader's own unescaping and validation
            return;
        }

        ReadOnlySpan<byte> value = reader.ValueSpan;
        if (!Utf8.IsValid(value))
        {
            _ = reader.GetString(); // throws the reader's error for invalid UTF-8, as the string path did
        }

        Set(value);
    }

    /// <summary>Takes <paramref name="other"/>'s value; keeps the text already made when the bytes are the same.</summary>
    public void CopyFrom(ResourceVersionBuffer other)
    {
        if (!other.HasValue)
        {
            Clear();
            return;
        }

        if (HasValue && Bytes.SequenceEqual(other.Bytes))
        {
            _text ??= other._text;
            return;
        }

        Set(other.Bytes);
        _text = other._text;
    }

    /// <summary>Takes a resourceVersion that arrived as text (a LIST page, a bookmark staged as a string).</summary>
    public void Set(string? text)
    {
        if (text is null)
        {
            Clear();
            return;
        }

        int length = Encoding.UTF8.GetByteCount(text);
        EnsureCapacity(length);
        _length = Encoding.UTF8.GetBytes(text, _bytes);
        _text = text;
    }

    private void Set(ReadOnlySpan<byte> value)
    {
        EnsureCapacity(value.Length);
        value.CopyTo(_bytes);
        _length = value.Length;
        _text = null;
    }

    private void EnsureCapacity(int length)
    {
        if (_bytes.Length < length)
        {
            _bytes = new byte[Math.Max(length, _bytes.Length * 2)];
        }
    }
}
