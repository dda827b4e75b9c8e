using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>Where a request's affinity key comes from: <c>header:name</c>, <c>cookie:name</c>, <c>route:name</c> or <c>client-ip</c>.</summary>
/// <remarks>Immutable. Reading a key allocates nothing: it is a slice of a string the request already holds, or the remote address's bytes written to the caller's buffer.</remarks>
internal sealed record HashKeySource(HashKeyKind Kind, string Name)
{
    /// <summary>The accepted forms, as quoted in every error.</summary>
    public const string AcceptedForms = "'header:<name>' (e.g. header:x-user), 'cookie:<name>' (e.g. cookie:session), 'route:<name>' (e.g. route:id) or 'client-ip'";

    // RFC 9110 token characters: header and cookie names.
    private static readonly SearchValues<char> TokenCharacters =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    // Route parameter names: letters, digits, '_' and '-'.
    private static readonly SearchValues<char> RouteNameCharacters =
        SearchValues.Create("_-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>The largest text key read from a request; a longer one is hashed on its first 4096 characters.</summary>
    public const int MaxKeyLength = 4096;

    /// <summary>Parses a <see cref="LockFreeClusterMetadata.HashKey"/> value; the problem, with the accepted forms, on failure.</summary>
    public static bool TryParse(string? value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HashKeySource? source, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        source = null;
        string text = value?.Trim() ?? string.Empty;
        if (string.Equals(text, "client-ip", StringComparison.OrdinalIgnoreCase))
        {
            source = new HashKeySource(HashKeyKind.ClientIp, string.Empty);
            problem = null;
            return true;
        }

        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string prefix = colon < 0 ? text : text[..colon];
        string name = colon < 0 ? string.Empty : text[(colon + 1)..].Trim();
        HashKeyKind? kind = prefix.ToLowerInvariant() switch
        {
            "header" => HashKeyKind.Header,
            "cookie" => HashKeyKind.Cookie,
            "route" => HashKeyKind.Route,
            _ => null,
        };

        if (kind is null || colon < 0)
        {
            problem = $"'{value}' is not a key source: expected {AcceptedForms}.";
            return false;
        }

        SearchValues<char> allowed = kind == HashKeyKind.Route ? RouteNameCharacters : TokenCharacters;
        if (name.Length == 0 || name.Length > 256 || name.AsSpan().ContainsAnyExcept(allowed))
        {
            string what = kind == HashKeyKind.Route ? "a route parameter name (letters, digits, '_' and '-')" : "an HTTP token (letters, digits and !#$%&'*+-.^_`|~)";
            problem = $"'{value}' names no valid {prefix.ToLowerInvariant()}: the name after '{prefix}:' must be {what}, 1-256 characters; expected {AcceptedForms}.";
            return false;
        }

        source = new HashKeySource(kind.Value, name);
        problem = null;
        return true;
    }

    /// <summary>
    /// The key as text for header, cookie and route sources (a slice of the request's own strings), or the remote
    /// address's bytes in <paramref name="bytes"/> for <see cref="HashKeyKind.ClientIp"/>. Empty when the request has none.
    /// </summary>
    public ReadOnlySpan<char> Read(HttpContext context, Span<byte> bytes, out int byteCount)
    {
        byteCount = 0;
        switch (Kind)
        {
            case HashKeyKind.Header:
                return context.Request.Headers.TryGetValue(Name, out StringValues values) ? First(values) : default;
            case HashKeyKind.Cookie:
                return FromCookie(context.Request.Headers, Name);
            case HashKeyKind.Route:
                return context.Request.RouteValues.TryGetValue(Name, out object? value) && value is string text ? Bounded(text) : default;
            default:
                IPAddress? address = context.Connection.RemoteIpAddress;
                if (address is not null)
                {
                    // PERF: the address's own bytes, no string; an IPv4-mapped IPv6 address hashes as its IPv4 form, so
                    // dual-stack listeners place one client the same way whichever socket it arrived on.
                    if (address.IsIPv4MappedToIPv6)
                    {
                        Span<byte> v6 = stackalloc byte[16];
                        if (address.TryWriteBytes(v6, out _))
                        {
                            v6[12..].CopyTo(bytes);
                            byteCount = 4;
                        }
                    }
                    else if (address.TryWriteBytes(bytes, out int written))
                    {
                        byteCount = written;
                    }
                }

                return default;
        }
    }

    private static ReadOnlySpan<char> First(StringValues values)
    {
        string? first = values.Count > 0 ? values[0] : null;
        return first is null ? default : Bounded(first);
    }

    private static ReadOnlySpan<char> Bounded(string text) => text.Length > MaxKeyLength ? text.AsSpan(0, MaxKeyLength) : text.AsSpan();

    /// <summary>The value of cookie <paramref name="name"/> in the request's <c>Cookie</c> header(s), unquoted; parsed in place (ASP.NET Core's cookie collection would allocate).</summary>
    private static ReadOnlySpan<char> FromCookie(IHeaderDictionary headers, string name)
    {
        if (!headers.TryGetValue("Cookie", out StringValues values))
        {
            return default;
        }

        for (int i = 0; i < values.Count; i++)
        {
            ReadOnlySpan<char> text = values[i];
            foreach (Range range in text.Split(';'))
            {
                ReadOnlySpan<char> pair = text[range].Trim(' ');
                if (pair.Length > name.Length && pair[name.Length] == '=' && pair.StartsWith(name, StringComparison.Ordinal))
                {
                    ReadOnlySpan<char> value = pair[(name.Length + 1)..];
                    value = value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;
                    return value.Length > MaxKeyLength ? value[..MaxKeyLength] : value;
                }
            }
        }

        return default;
    }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        HashKeyKind.Header => "header:" + Name,
        HashKeyKind.Cookie => "cookie:" + Name,
        HashKeyKind.Route => "route:" + Name,
        _ => "client-ip",
    };
}
