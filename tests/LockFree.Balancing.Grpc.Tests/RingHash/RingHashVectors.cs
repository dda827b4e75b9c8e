using System.Runtime.CompilerServices;
using System.Text.Json;
using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Grpc.RingHash;

namespace LockFree.Balancing.Grpc.Tests.RingHash;

/// <summary>
/// Loads Vectors/ring-hash-vectors.json, written by Vectors/ring_hash_vectors.py (an independent Python
/// implementation of the A42 ring over Debian's python3-xxhash). The file is read from the source tree, found
/// through this file's compile-time path, so the test project needs no copy-to-output item.
/// </summary>
internal static class RingHashVectors
{
    private static readonly Lazy<JsonDocument> Document = new(Load);

    public static JsonElement Root => Document.Value.RootElement;

    public static JsonElement Case(string name) =>
        Root.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    /// <summary>Turns a case's addresses into grpc-dotnet addresses with the attributes the resolver would set.</summary>
    public static BalancerAddress[] Addresses(JsonElement testCase, Func<JsonElement, int>? port = null)
    {
        return testCase.GetProperty("addresses").EnumerateArray().Select(a =>
        {
            var address = new BalancerAddress(a.GetProperty("host").GetString()!, port?.Invoke(a) ?? a.GetProperty("port").GetInt32());
            if (a.TryGetProperty("weight", out var weight))
            {
                address.Attributes.Set(RingHashAttributes.Weight, weight.GetInt32());
            }

            if (a.TryGetProperty("hashKey", out var hashKey))
            {
                address.Attributes.Set(RingHashAttributes.HashKey, hashKey.GetString()!);
            }

            return address;
        }).ToArray();
    }

    /// <summary>Builds the ring from addresses as the balancer does: merge by address, sort by hash key then address.</summary>
    public static (RingHashRing Ring, string[] HashKeys) BuildRing(IReadOnlyList<BalancerAddress> addresses, RingHashOptions options)
    {
        var endpoints = RingHashEndpointKey.Merge(addresses);
        var keys = endpoints.Select(e => e.HashKey).ToArray();
        var ring = RingHashRing.Build(keys, endpoints.Select(e => e.Weight).ToArray(), options.EffectiveMinRingSize, options.EffectiveMaxRingSize);
        return (ring, keys);
    }

    /// <summary>The options a vector config describes (0 = default, as in a service config).</summary>
    public static RingHashOptions Options(JsonElement config)
    {
        var options = new RingHashOptions { RingSizeCap = config.GetProperty("cap").GetInt64() };
        var fields = new Dictionary<string, object>
        {
            [RingHashOptions.MinRingSizeField] = config.GetProperty("minRingSize").GetInt64(),
            [RingHashOptions.MaxRingSizeField] = config.GetProperty("maxRingSize").GetInt64(),
        };
        return options.WithConfiguration(fields);
    }

    private static JsonDocument Load() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(SourceDirectory(), "Vectors", "ring-hash-vectors.json")));

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
