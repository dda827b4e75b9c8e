using System.Buffers;
using System.Runtime.CompilerServices;

namespace LockFree.Balancing.Kubernetes.Watch;

/// <summary>
/// Splits a watch response body into lines (one JSON event per line) using one pooled buffer.
/// </summary>
/// <remarks>
/// <para>
/// A read can end anywhere, even inside a UTF-8 sequence: bytes stay in the buffer until their line's
/// <c>\n</c> arrives, and <c>\n</c> (0x0A) never occurs inside a multi-byte UTF-8 sequence, so a line is
/// always whole when it is handed out. LF and CRLF both end a line; blank lines are skipped.
/// </para>
/// <para>
/// Memory is bounded: a line longer than the limit raises <see cref="WatchEventTooLargeException"/> as soon
/// as the limit is passed, without reading the rest. Not thread-safe; one reader per response.
/// </para>
/// </remarks>
internal sealed class WatchLineReader : IDisposable
{
    private const int InitialBufferSize = 16 * 1024;

    private readonly Stream _stream;
    private readonly int _maxLineBytes;
    private readonly Action? _onBytesReceived;
    private byte[] _buffer;
    private int _start;   // first byte of the current (unconsumed) line
    private int _end;     // end of valid data
    private int _scanned; // bytes after _start already searched for '\n'

    /// <param name="stream">The response body.</param>
    /// <param name="maxLineBytes">The largest accepted line, without its line ending.</param>
    /// <param name="onBytesReceived">Called after every read that returned data (the watch loop's liveness signal).</param>
    public WatchLineReader(Stream stream, int maxLineBytes, Action? onBytesReceived = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        _stream = stream;
        _maxLineBytes = maxLineBytes;
        _onBytesReceived = onBytesReceived;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialBufferSize, maxLineBytes + 2));
    }

    /// <summary>The capacity of the pooled buffer in use (for tests of the memory bound).</summary>
    internal int BufferCapacity => _buffer.Length;

    /// <summary>
    /// The next non-blank line without its line ending, valid until the next call; empty at the end of the stream.
    /// </summary>
    /// <exception cref="WatchEventTooLargeException">A line is longer than the limit.</exception>
    /// <exception cref="EndOfStreamException">The stream ended in the middle of a line (a cut connection, not bad data).</exception>
    /// <remarks>PERF: a read that waits for the network reuses a pooled state machine instead of allocating one.</remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReadOnlyMemory<byte>> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            // Step 1 – a whole line already buffered?
            int newline = _buffer.AsSpan(_start + _scanned, _end - _start - _scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                int lineEnd = _start + _scanned + newline;
                int lineStart = _start;
                _start = lineEnd + 1;
                _scanned = 0;
                int length = lineEnd - lineStart;
                if (length > 0 && _buffer[lineEnd - 1] == (byte)'\r')
                {
                    length--;
                }

                if (length > _maxLineBytes)
                {
                    throw new WatchEventTooLargeException(_maxLineBytes, "watch event");
                }

                if (IsBlank(_buffer.AsSpan(lineStart, length)))
                {
                    continue;
                }

                return _buffer.AsMemory(lineStart, length);
            }

            _scanned = _end - _start;

            // Step 2 – the pending partial line may not exceed the limit (+1 for a '\r' still to be stripped).
            if (_scanned > _maxLineBytes + 1)
            {
                throw new WatchEventTooLargeException(_maxLineBytes, "watch event");
            }

            // Step 3 – make room: move the partial line to the front, grow (bounded) when it fills the buffer.
            MakeRoom();

            // Step 4 – read more.
            int read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                ReadOnlySpan<byte> rest = _buffer.AsSpan(_start, _end - _start);
                _start = _end;
                _scanned = 0;
                if (!IsBlank(rest))
                {
                    // The last event of a stream always ends with '\n'; without it the connection broke mid-event.
                    if (rest.Length <= _maxLineBytes && LooksLikeCompleteObject(rest))
                    {
                        return _buffer.AsMemory(_end - rest.Length, rest.Length);
                    }

                    throw new EndOfStreamException($"The watch stream ended in the middle of an event ({rest.Length} bytes without a line end): the connection was cut.");
                }

                return ReadOnlyMemory<byte>.Empty;
            }

            _end += read;
            _onBytesReceived?.Invoke();
        }
    }

    public void Dispose()
    {
        byte[] buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void MakeRoom()
    {
        int pending = _end - _start;
        if (pending == 0)
        {
            _start = _end = 0; // everything consumed: read into the whole buffer again
            return;
        }

        if (_start > 0 && (_end == _buffer.Length || _start > _buffer.Length / 2))
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
            _start = 0;
            _end = pending;
        }

        if (_end < _buffer.Length)
        {
            return;
        }

        int limit = _maxLineBytes + 2;
        int size = (int)Math.Min((long)_buffer.Length * 2, limit);
        if (size <= _buffer.Length)
        {
            size = _buffer.Length + 1; // unreachable with the Step 2 check, kept as a guard against an endless loop
        }

        byte[] larger = ArrayPool<byte>.Shared.Rent(size);
        Buffer.BlockCopy(_buffer, _start, larger, 0, pending);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
        _start = 0;
        _end = pending;
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.IndexOfAnyExcept(" \t\r\n"u8) < 0;

    /// <summary>A final line without '\n' is accepted only when it is a whole JSON object; the parser still validates it.</summary>
    private static bool LooksLikeCompleteObject(ReadOnlySpan<byte> line)
    {
        ReadOnlySpan<byte> trimmed = line.Trim(" \t\r"u8);
        return trimmed.Length >= 2 && trimmed[0] == (byte)'{' && trimmed[^1] == (byte)'}';
    }
}
