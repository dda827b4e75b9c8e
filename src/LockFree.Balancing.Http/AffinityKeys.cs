using System.Net.Http.Headers;
namespace LockFree.Balancing.Http;

/// <summary>Reads affinity keys out of a request without copying them: the key is a slice of a string the request already holds.</summary>
internal static class AffinityKeys
{
    /// <summary>The first <c>name=value</c> of the query, still URL-encoded (the same value always hashes the same).</summary>
    public static ReadOnlySpan<char> FromQuery(Uri uri, string name)
    {
        ReadOnlySpan<char> query = uri.Query;
        if (query.StartsWith('?'))
        {
            query = query[1..];
        }

        foreach (Range range in query.Split('&'))
        {
            ReadOnlySpan<char> pair = query[range];
            if (pair.Length > name.Length && pair[name.Length] == '=' && pair.StartsWith(name, StringComparison.Ordinal))
            {
                return pair[(name.Length + 1)..];
            }
        }

        return default;
    }

    /// <summary>The value of cookie <paramref name="name"/> in the request's <c>Cookie</c> header(s).</summary>
    public static ReadOnlySpan<char> FromCookie(HttpRequestMessage request, string name)
    {
        if (!request.Headers.NonValidated.TryGetValues("Cookie", out HeaderStringValues values))
        {
            return default;
        }

        foreach (string header in values)
        {
            ReadOnlySpan<char> text = header;
            foreach (Range range in text.Split(';'))
            {
                ReadOnlySpan<char> pair = text[range].Trim(' ');
                if (pair.Length > name.Length && pair[name.Length] == '=' && pair.StartsWith(name, StringComparison.Ordinal))
                {
                    ReadOnlySpan<char> value = pair[(name.Length + 1)..];
                    return value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;
                }
            }
        }

        return default;
    }
}
