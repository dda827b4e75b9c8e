namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>A read-only stream that hands out its data in chunks of chosen sizes, to split lines anywhere.</summary>
public sealed class ChunkedStream : Stream
{
    private readonly byte[] _data;
    private readonly Func<int, int> _chunkSize;
    private int _position;
    private int _reads;

    public ChunkedStream(byte[] data, Func<int, int> chunkSize)
    {
        _data = data;
        _chunkSize = chunkSize;
    }

    public long BytesRead => _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(Math.Min(buffer.Length, Math.Max(1, _chunkSize(_reads++))), _data.Length - _position);
        _data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(Read(buffer.Span));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
