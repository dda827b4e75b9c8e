using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace LockFree.Balancing;

/// <summary>
/// One backend a request can be sent to: an address (IPv4, IPv6 or DNS name) and a port,
/// with an optional weight and topology labels.
/// </summary>
/// <remarks>
/// <para>
/// Identity is the canonical <see cref="Key"/> (<c>10.0.0.7:8080</c>, <c>[fd00::7]:8080</c>,
/// <c>web-0.web.default.svc:8080</c>): two endpoints with equal keys are the same endpoint,
/// whatever their weight or labels. Canonical means IPv4 in dotted decimal without leading
/// zeros, IPv6 in the compressed lower-case form of RFC 5952, DNS names in lower case
/// without a trailing dot.
/// </para>
/// <para>Instances are immutable and safe to share between threads.</para>
/// </remarks>
public sealed class Endpoint : IEquatable<Endpoint>
{
    /// <summary>The largest accepted <see cref="Weight"/>.</summary>
    /// <remarks>
    /// Weights are relative integers (1–10 is typical). A consistent-hash ring gives an
    /// endpoint <c>weight × virtual nodes</c> points, so the cap keeps one endpoint from
    /// growing the ring without bound.
    /// </remarks>
    public const int MaxWeight = 1000;

    /// <summary>The most zone or node hints one endpoint may carry (the EndpointSlice API's own limit).</summary>
    public const int MaxHints = 8;

    private static readonly ReadOnlyCollection<string> NoHints = ReadOnlyCollection<string>.Empty;

    private const int MaxDnsNameLength = 253;
    private const int MaxDnsLabelLength = 63;
    private const int MaxLabelValueLength = 253;

    /// <summary>Creates an endpoint.</summary>
    /// <param name="host">An IPv4 address, an IPv6 address (with or without brackets) or a DNS name.</param>
    /// <param name="port">The port, 1–65535.</param>
    /// <param name="weight">The relative weight, 0–<see cref="MaxWeight"/>. Weight 0 keeps the endpoint known but gives it no new requests.</param>
    /// <param name="zone">The zone the endpoint runs in (for example <c>eu-west-1a</c>), or <see langword="null"/>.</param>
    /// <param name="nodeName">The node the endpoint runs on, or <see langword="null"/>.</param>
    /// <param name="zoneHints">
    /// The zones this endpoint should serve (EndpointSlice <c>hints.forZones</c>), or <see langword="null"/> for none.
    /// Order and duplicates do not matter.
    /// </param>
    /// <param name="nodeHints">The nodes this endpoint should serve (EndpointSlice <c>hints.forNodes</c>), or <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">
    /// The host is not a valid address or DNS name, the port is outside 1–65535, the weight is outside
    /// 0–<see cref="MaxWeight"/>, a label or hint is longer than 253 characters, a hint is empty, or there are more
    /// than <see cref="MaxHints"/> distinct hints of one kind.
    /// </exception>
    public Endpoint(
        string host,
        int port,
        int weight = 1,
        string? zone = null,
        string? nodeName = null,
        IEnumerable<string>? zoneHints = null,
        IEnumerable<string>? nodeHints = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (port is < 1 or > 65535)
        {
            throw new ArgumentException(
                $"Port {port} is not accepted: an endpoint port must be between 1 and 65535.", nameof(port));
        }

        if (weight is < 0 or > MaxWeight)
        {
            throw new ArgumentException(
                $"Weight {weight} is not accepted: a weight must be between 0 and {MaxWeight} (0 = known but receives no new requests).",
                nameof(weight));
        }

        if (!TryCanonicalizeHost(host, out string? canonicalHost, out EndpointAddressKind kind, out string? problem))
        {
            throw new ArgumentException(problem, nameof(host));
        }

        Host = canonicalHost;
        Port = port;
        Weight = weight;
        AddressKind = kind;
        Zone = NormalizeLabel(zone, nameof(zone));
        NodeName = NormalizeLabel(nodeName, nameof(nodeName));
        ZoneHints = NormalizeHints(zoneHints, nameof(zoneHints));
        NodeHints = NormalizeHints(nodeHints, nameof(nodeHints));
        Key = kind == EndpointAddressKind.IPv6
            ? string.Create(CultureInfo.InvariantCulture, $"[{canonicalHost}]:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"{canonicalHost}:{port}");
    }

    /// <summary>The canonical host: an IPv4 address, an IPv6 address without brackets, or a lower-case DNS name.</summary>
    public string Host { get; }

    /// <summary>The port, 1–65535.</summary>
    public int Port { get; }

    /// <summary>The relative weight, 0–<see cref="MaxWeight"/>; 1 unless set.</summary>
    public int Weight { get; }

    /// <summary>The zone the endpoint runs in, or <see langword="null"/> when unknown.</summary>
    public string? Zone { get; }

    /// <summary>The node the endpoint runs on, or <see langword="null"/> when unknown.</summary>
    public string? NodeName { get; }

    /// <summary>
    /// The zones this endpoint should serve, in ordinal order without duplicates; empty when it carries no zone hints.
    /// Used by topology-aware picking to prefer endpoints meant for the caller's zone.
    /// </summary>
    public IReadOnlyList<string> ZoneHints { get; }

    /// <summary>The nodes this endpoint should serve, in ordinal order without duplicates; empty when it carries no node hints.</summary>
    public IReadOnlyList<string> NodeHints { get; }

    /// <summary>What kind of address <see cref="Host"/> holds.</summary>
    public EndpointAddressKind AddressKind { get; }

    /// <summary>The canonical identity, <c>host:port</c> with IPv6 hosts in brackets.</summary>
    public string Key { get; }

    /// <summary>Parses <c>host:port</c>, <c>[ipv6]:port</c>, with the weight defaulting to 1.</summary>
    /// <param name="value">The text to parse, for example <c>10.0.0.7:8080</c> or <c>[fd00::7]:8080</c>.</param>
    /// <returns>The endpoint.</returns>
    /// <exception cref="FormatException">The text is not one of the accepted forms; the message says what was wrong.</exception>
    public static Endpoint Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!TryParse(value, out Endpoint? endpoint, out string? problem))
        {
            throw new FormatException(problem);
        }

        return endpoint;
    }

    /// <summary>Tries to parse <c>host:port</c> or <c>[ipv6]:port</c>.</summary>
    /// <param name="value">The text to parse.</param>
    /// <param name="endpoint">The endpoint when the text is valid; otherwise <see langword="null"/>.</param>
    /// <returns><see langword="true"/> when the text is valid.</returns>
    public static bool TryParse(string? value, [NotNullWhen(true)] out Endpoint? endpoint)
        => TryParse(value, out endpoint, out _);

    /// <summary>Returns a copy of this endpoint with another weight.</summary>
    /// <param name="weight">The new weight, 0–<see cref="MaxWeight"/>.</param>
    /// <returns>The endpoint with the same key, labels, hints and the new weight.</returns>
    /// <exception cref="ArgumentException">The weight is outside 0–<see cref="MaxWeight"/>.</exception>
    public Endpoint WithWeight(int weight) => new(Host, Port, weight, Zone, NodeName, ZoneHints, NodeHints);

    /// <inheritdoc/>
    public bool Equals(Endpoint? other) => other is not null && string.Equals(Key, other.Key, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Endpoint other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Key);

    /// <summary>Returns <see cref="Key"/>.</summary>
    /// <returns>The canonical key.</returns>
    public override string ToString() => Key;

    /// <summary>
    /// True when every attribute is equal, not only the <see cref="Key"/> that <see cref="Equals(Endpoint?)"/>
    /// compares: weight, zone, node and hints. A balancer update that changes none of them is a no-op.
    /// </summary>
    /// <param name="other">The endpoint to compare with.</param>
    /// <returns><see langword="true"/> when <paramref name="other"/> has the same key and attributes.</returns>
    public bool HasSameAttributes(Endpoint other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return string.Equals(Key, other.Key, StringComparison.Ordinal)
               && Weight == other.Weight
               && string.Equals(Zone, other.Zone, StringComparison.Ordinal)
               && string.Equals(NodeName, other.NodeName, StringComparison.Ordinal)
               && ZoneHints.SequenceEqual(other.ZoneHints, StringComparer.Ordinal)
               && NodeHints.SequenceEqual(other.NodeHints, StringComparer.Ordinal);
    }

    private static bool TryParse(string? value, [NotNullWhen(true)] out Endpoint? endpoint, [NotNullWhen(false)] out string? problem)
    {
        endpoint = null;
        const string Accepted = "Accepted forms: 'host:port', 'ipv4:port', '[ipv6]:port' with a port of 1-65535.";
        if (string.IsNullOrWhiteSpace(value))
        {
            problem = $"An endpoint cannot be empty. {Accepted}";
            return false;
        }

        string host;
        ReadOnlySpan<char> portText;
        if (value.StartsWith('['))
        {
            int close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= value.Length || value[close + 1] != ':')
            {
                problem = $"'{value}' opens an IPv6 bracket but is not '[address]:port'. {Accepted}";
                return false;
            }

            host = value[1..close];
            portText = value.AsSpan(close + 2);
        }
        else
        {
            int colon = value.LastIndexOf(':');
            if (colon < 0)
            {
                problem = $"'{value}' has no port. {Accepted}";
                return false;
            }

            if (value.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                problem = $"'{value}' looks like an IPv6 address without brackets; write it as '[address]:port'. {Accepted}";
                return false;
            }

            host = value[..colon];
            portText = value.AsSpan(colon + 1);
        }

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            problem = $"'{value}' has the port '{portText.ToString()}', which is not a number between 1 and 65535. {Accepted}";
            return false;
        }

        if (!TryCanonicalizeHost(host, out _, out _, out problem))
        {
            return false;
        }

        endpoint = new Endpoint(host, port);
        return true;
    }

    private static bool TryCanonicalizeHost(
        string host,
        [NotNullWhen(true)] out string? canonical,
        out EndpointAddressKind kind,
        [NotNullWhen(false)] out string? problem)
    {
        canonical = null;
        kind = default;
        problem = null;
        ReadOnlySpan<char> text = host.AsSpan();
        if (text.Length > 2 && text[0] == '[' && text[^1] == ']')
        {
            text = text[1..^1];
        }

        if (text.IsEmpty)
        {
            problem = "The host is empty: expected an IPv4 address, an IPv6 address or a DNS name.";
            return false;
        }

        if (text.Contains(':'))
        {
            if (IPAddress.TryParse(text, out IPAddress? v6) && v6.AddressFamily == AddressFamily.InterNetworkV6)
            {
                canonical = v6.ToString();
                kind = EndpointAddressKind.IPv6;
                return true;
            }

            problem = $"'{host}' is not a valid IPv6 address.";
            return false;
        }

        if (LastLabelIsNumeric(text))
        {
            return TryCanonicalizeIPv4(host, text, out canonical, out kind, out problem);
        }

        return TryCanonicalizeDnsName(host, text, out canonical, out kind, out problem);
    }

    private static bool LastLabelIsNumeric(ReadOnlySpan<char> text)
    {
        ReadOnlySpan<char> trimmed = text.EndsWith('.') ? text[..^1] : text;
        int dot = trimmed.LastIndexOf('.');
        ReadOnlySpan<char> last = dot < 0 ? trimmed : trimmed[(dot + 1)..];
        return !last.IsEmpty && !last.ContainsAnyExceptInRange('0', '9');
    }

    private static bool TryCanonicalizeIPv4(
        string host,
        ReadOnlySpan<char> text,
        [NotNullWhen(true)] out string? canonical,
        out EndpointAddressKind kind,
        [NotNullWhen(false)] out string? problem)
    {
        // Strict dotted decimal: IPAddress.TryParse also accepts "10.1", "0x0a.0.0.1" and octal-looking
        // "010.0.0.1", which other clients read differently. One spelling per address keeps keys equal.
        canonical = null;
        kind = EndpointAddressKind.IPv4;
        int octets = 0;
        foreach (Range range in text.Split('.'))
        {
            ReadOnlySpan<char> octet = text[range];
            bool valid = octet.Length is >= 1 and <= 3
                         && !octet.ContainsAnyExceptInRange('0', '9')
                         && (octet.Length == 1 || octet[0] != '0')
                         && int.Parse(octet, NumberStyles.None, CultureInfo.InvariantCulture) <= 255;
            if (!valid)
            {
                problem = $"'{host}' is not a valid IPv4 address: expected four decimal octets 0-255 without leading zeros, such as 10.0.0.7.";
                return false;
            }

            octets++;
        }

        if (octets != 4)
        {
            problem = $"'{host}' is not a valid IPv4 address: expected four decimal octets 0-255 without leading zeros, such as 10.0.0.7.";
            return false;
        }

        canonical = text.ToString();
        problem = null;
        return true;
    }

    private static bool TryCanonicalizeDnsName(
        string host,
        ReadOnlySpan<char> text,
        [NotNullWhen(true)] out string? canonical,
        out EndpointAddressKind kind,
        [NotNullWhen(false)] out string? problem)
    {
        // RFC 1123 host names: labels of letters, digits and hyphens, 1-63 characters, not starting or
        // ending with a hyphen, 253 characters in all. DNS is case-insensitive, so the key is lower case.
        canonical = null;
        kind = EndpointAddressKind.DnsName;
        if (text.EndsWith('.'))
        {
            text = text[..^1];
        }

        if (text.Length > MaxDnsNameLength)
        {
            problem = $"'{host}' is {text.Length} characters long; a DNS name may have at most {MaxDnsNameLength}.";
            return false;
        }

        foreach (Range range in text.Split('.'))
        {
            ReadOnlySpan<char> label = text[range];
            bool valid = label.Length is >= 1 and <= MaxDnsLabelLength
                         && label[0] != '-'
                         && label[^1] != '-'
                         && !label.ContainsAnyExcept(DnsLabelCharacters);
            if (!valid)
            {
                problem = $"'{host}' is not a valid host: a DNS name is dot-separated labels of 1-63 letters, digits and hyphens (not at either end of a label); an address must be IPv4 or IPv6.";
                return false;
            }
        }

        canonical = text.ToString().ToLowerInvariant();
        problem = null;
        return true;
    }

    private static readonly System.Buffers.SearchValues<char> DnsLabelCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");

    private static string? NormalizeLabel(string? value, string parameterName)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (value.Length > MaxLabelValueLength)
        {
            throw new ArgumentException(
                $"The {parameterName} '{value[..20]}...' is {value.Length} characters long; at most {MaxLabelValueLength} are accepted.",
                parameterName);
        }

        return value;
    }

    private static ReadOnlyCollection<string> NormalizeHints(IEnumerable<string>? hints, string parameterName)
    {
        if (hints is null)
        {
            return NoHints;
        }

        // Sorted and deduplicated, so that two endpoints with the same hints in another order compare equal
        // and an update that only reorders them is a no-op.
        SortedSet<string> unique = new(StringComparer.Ordinal);
        foreach (string? hint in hints)
        {
            if (string.IsNullOrEmpty(hint))
            {
                throw new ArgumentException($"A {parameterName} entry is null or empty; each hint must name a zone or node.", parameterName);
            }

            unique.Add(NormalizeLabel(hint, parameterName)!);
        }

        if (unique.Count > MaxHints)
        {
            throw new ArgumentException(
                $"{unique.Count} distinct {parameterName} are not accepted: an endpoint carries at most {MaxHints} (the EndpointSlice API's limit).",
                parameterName);
        }

        return unique.Count == 0 ? NoHints : new ReadOnlyCollection<string>([.. unique]);
    }
}
