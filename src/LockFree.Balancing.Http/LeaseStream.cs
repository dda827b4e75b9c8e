namespace LockFree.Balancing.Http;

/// <summary>The response body stream: ends the lease when a read reaches the end, a read fails, or the stream is disposed.</summary>
internal sealed class LeaseStream(Stream inner, LeaseContent owner) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException("The response body stream cannot seek.");

    public override long Position
    {
        get => throw new NotSupportedException("The response body stream cannot seek.");
        set => throw new NotSupportedException("The response body stream cannot seek.");
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            read = inner.Read(buffer);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            owner.Release(bodyFailed: true, ex);
            throw;
        }

        return Ended(read, buffer.Length);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read;
        try
        {
            read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            owner.Release(bodyFailed: true, ex);
            throw;
        }

        return Ended(read, buffer.Length);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("The response body stream cannot seek.");

    public override void SetLength(long value) => throw new NotSupportedException("The response body stream is read-only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The response body stream is read-only.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            owner.Release(bodyFailed: false);
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        owner.Release(bodyFailed: false);
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private int Ended(int read, int asked)
    {
        if (read == 0 && asked > 0)
        {
            owner.Release(bodyFailed: false);
        }

        return read;
    }
}
