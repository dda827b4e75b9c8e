using System.Buffers;
using System.IO.Hashing;
using System.Net.Http.Headers;
using System.Text;

namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>gRFC A76 request hash: XXH64 (seed 0) of the request hash header's values joined with ",".</summary>
internal static class RingHashRequestHash
{
    private const int StackLimit = 512;

    /// <summary>
    /// Hashes the header's values. Returns <see langword="false"/> when there is no request, no such header, or
    /// the joined value is empty: A76 then asks for a random hash.
    /// </summary>
    /// <param name="request">The call's HTTP request, whose headers carry the gRPC metadata.</param>
    /// <param name="header">The lower-case header name.</param>
    /// <param name="hash">The request hash.</param>
    /// <returns>Whether the request had a non-empty value.</returns>
    public static bool TryHash(HttpRequestMessage? request, string header, out ulong hash)
    {
        hash = 0;
        // PERF: NonValidated reads the raw stored strings: no parsing, no per-call allocation.
        if (!RequestHeaders.TryGetValues(request, header, out var values))
        {
            return false;
        }

        return TryHash(values, out hash);
    }

    /// <summary>Hashes header values joined with ",".</summary>
    /// <param name="values">The values.</param>
    /// <param name="hash">The hash.</param>
    /// <returns>Whether the joined value is non-empty.</returns>
    public static bool TryHash(HeaderStringValues values, out ulong hash)
    {
        hash = 0;
        var maxBytes = 0;
        foreach (var value in values)
        {
            maxBytes += Encoding.UTF8.GetMaxByteCount(value.Length) + 1;
        }

        byte[]? rented = null;
        var buffer = maxBytes <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            var written = 0;
            var first = true;
            foreach (var value in values)
            {
                if (!first)
                {
                    buffer[written++] = (byte)',';
                }

                first = false;
                written += Encoding.UTF8.GetBytes(value, buffer[written..]);
            }

            if (written == 0)
            {
                return false;
            }

            hash = XxHash64.HashToUInt64(buffer[..written]);
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Hashes one string as a request hash key would be (for tests and tools).</summary>
    /// <param name="key">The key.</param>
    /// <returns>XXH64 (seed 0) of its UTF-8 bytes.</returns>
    public static ulong Hash(string key) => XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(key));
}
