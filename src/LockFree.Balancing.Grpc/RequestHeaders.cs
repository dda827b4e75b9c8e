using System.Net.Http.Headers;

namespace LockFree.Balancing.Grpc;

/// <summary>Reads one request header on the pick path without allocating.</summary>
internal static class RequestHeaders
{
    /// <summary>
    /// Finds <paramref name="name"/> among the request's headers (case-insensitively, as HTTP names compare).
    /// </summary>
    /// <remarks>
    /// PERF: <c>NonValidated.TryGetValues(string)</c> parses the name into a header descriptor on every call, which
    /// measured about as much as the rest of a keyed pick; a gRPC request carries a handful of headers, so walking them
    /// and comparing names (the same string instance first) is cheaper. The enumerator is a struct: nothing allocates.
    /// </remarks>
    public static bool TryGetValues(HttpRequestMessage? request, string name, out HeaderStringValues values)
    {
        if (request is not null)
        {
            foreach (KeyValuePair<string, HeaderStringValues> header in request.Headers.NonValidated)
            {
                if (ReferenceEquals(header.Key, name) || string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase))
                {
                    values = header.Value;
                    return true;
                }
            }
        }

        values = default;
        return false;
    }
}
