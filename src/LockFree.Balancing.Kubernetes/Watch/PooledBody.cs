using System.Buffers;

namespace LockFree.Balancing.Kubernetes.Watch;

/// <summary>A body in a rented buffer; dispose once to return it.</summary>
internal sealed class PooledBody : IDisposable
{
    private byte[] _buffer;

    public PooledBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    public void Dispose()
    {
        byte[] buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
