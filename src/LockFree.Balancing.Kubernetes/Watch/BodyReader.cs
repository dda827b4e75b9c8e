using System.Buffers;

namespace LockFree.Balancing.Kubernetes.Watch;

/// <summary>Reads a whole (bounded) response body into a pooled buffer.</summary>
internal static class BodyReader
{
    /// <summary>Reads the body; the caller returns <see cref="PooledBody.Dispose"/>'s buffer by disposing it.</summary>
    /// <exception cref="WatchEventTooLargeException">The body is larger than <paramref name="maxBytes"/>.</exception>
    public static async Task<PooledBody> ReadAsync(Stream stream, int maxBytes, string what, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Min(64 * 1024, maxBytes + 1));
        int length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBytes)
                    {
                        throw new WatchEventTooLargeException(maxBytes, what);
                    }

                    byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, (long)maxBytes + 1));
                    Buffer.BlockCopy(buffer, 0, larger, 0, length);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                int read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > maxBytes)
                {
                    throw new WatchEventTooLargeException(maxBytes, what);
                }
            }

            var body = new PooledBody(buffer, length);
            buffer = [];
            return body;
        }
        finally
        {
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
