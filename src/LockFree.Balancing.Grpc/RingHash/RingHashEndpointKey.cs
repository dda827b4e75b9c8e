using System.Globalization;
using System.Net;
using Grpc.Net.Client.Balancer;

namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>How an address becomes its ring hash key and weight (gRFC A42, A76).</summary>
internal static class RingHashEndpointKey
{
    /// <summary>
    /// Formats an address as grpc-go's <c>resolver.Address.Addr</c> and Envoy's <c>Address::asString()</c>:
    /// "host:port", with an IPv6 literal in brackets ("[2001:db8::1]:443"). The host is used as given by the
    /// resolver; a resolver should give IPv6 literals in RFC 5952 form (what <see cref="IPAddress.ToString()"/>
    /// and Go's <c>net.IP.String</c> print) so that every client hashes the same text.
    /// </summary>
    /// <param name="endPoint">The address.</param>
    /// <returns>The text hashed onto the ring.</returns>
    public static string Format(DnsEndPoint endPoint)
    {
        var host = endPoint.Host;
        var port = endPoint.Port.ToString(CultureInfo.InvariantCulture);
        return host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[')
            ? "[" + host + "]:" + port
            : host + ":" + port;
    }

    /// <summary>Gets the A76 endpoint hash key: the <c>hash_key</c> attribute when set and not empty, else <see cref="Format"/>.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The hash key.</returns>
    public static string HashKey(BalancerAddress address)
    {
        if (TryGetAttribute(address, RingHashAttributes.HashKeyName, out var value) && value is string { Length: > 0 } key)
        {
            return key;
        }

        return Format(address.EndPoint);
    }

    /// <summary>Gets the weight: the <c>lockfree.weight</c> attribute when it is a positive integer, else 1 (as grpc-go treats 0 or unset).</summary>
    /// <param name="address">The address.</param>
    /// <returns>The weight, at least 1.</returns>
    public static long Weight(BalancerAddress address)
    {
        if (!TryGetAttribute(address, RingHashAttributes.WeightName, out var value))
        {
            return 1;
        }

        long weight = value switch
        {
            int i => i,
            uint u => u,
            long l => l,
            ulong ul => ul > long.MaxValue ? long.MaxValue : (long)ul,
            short s => s,
            ushort us => us,
            _ => 1,
        };
        return weight < 1 ? 1 : weight;
    }

    /// <summary>
    /// Merges a resolver's address list into the policy's endpoints: one per "host:port" (an address listed twice
    /// adds its weights, A42), with its hash key and weight, in ring order (hash key, then address; ordinal).
    /// </summary>
    /// <param name="addresses">The resolver's addresses.</param>
    /// <returns>The endpoints in the order the ring is built in.</returns>
    public static (string AddressKey, string HashKey, long Weight, BalancerAddress Address)[] Merge(IReadOnlyList<BalancerAddress> addresses)
    {
        var merged = new Dictionary<string, (string AddressKey, string HashKey, long Weight, BalancerAddress Address)>(StringComparer.Ordinal);
        foreach (var address in addresses)
        {
            var key = Format(address.EndPoint);
            var weight = Weight(address);
            merged[key] = merged.TryGetValue(key, out var previous)
                ? previous with { Weight = previous.Weight + weight }
                : (key, HashKey(address), weight, address);
        }

        return [.. merged.Values.OrderBy(e => e.HashKey, StringComparer.Ordinal).ThenBy(e => e.AddressKey, StringComparer.Ordinal)];
    }

    private static bool TryGetAttribute(BalancerAddress address, string name, out object? value)
    {
        IReadOnlyDictionary<string, object?> attributes = address.Attributes;
        return attributes.TryGetValue(name, out value);
    }
}
