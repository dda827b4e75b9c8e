using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client.Configuration;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// A <see cref="LoadBalancingConfig"/> for a LockFree policy, built from code or from service-config JSON; put it in
/// <see cref="ServiceConfig.LoadBalancingConfigs"/>.
/// </summary>
/// <remarks>
/// The typed properties write the same JSON-shaped inputs the policy reads: <c>hash_header</c>, <c>load_factor</c>,
/// <c>virtual_nodes</c>, <c>table_size</c>, <c>local_zone</c> and <c>outlier_ejection</c>. Not thread-safe while being built.
/// </remarks>
public sealed class LockFreeLoadBalancingConfig : LoadBalancingConfig
{
    /// <summary>Creates an empty config for <paramref name="policyName"/> (one of <see cref="LockFreePolicyNames"/>).</summary>
    /// <param name="policyName">The policy.</param>
    public LockFreeLoadBalancingConfig(string policyName)
        : base(policyName)
    {
    }

    private IDictionary<string, object> Values => (IDictionary<string, object>)Inner[PolicyName];

    /// <summary>The request header whose value is the hash key (hashing policies); calls without it go to the lesser loaded of two random endpoints.</summary>
    public string? HashHeader
    {
        get => Values.TryGetValue("hash_header", out object? v) ? v as string : null;
        set => Set("hash_header", value);
    }

    /// <summary>The bounded-load factor c (above 1, e.g. 1.25) of the hashing policies; <see langword="null"/> for no bound.</summary>
    public double? LoadFactor
    {
        get => Values.TryGetValue("load_factor", out object? v) ? Convert.ToDouble(v, CultureInfo.InvariantCulture) : null;
        set => Set("load_factor", value);
    }

    /// <summary>The zone of this process, for topology preference.</summary>
    public string? LocalZone
    {
        get => Values.TryGetValue("local_zone", out object? v) ? v as string : null;
        set => Set("local_zone", value);
    }

    /// <summary>Enables outlier ejection with these settings and counts <paramref name="failureCodes"/> as failures.</summary>
    /// <param name="options">The ejection settings.</param>
    /// <param name="failureCodes">The status codes that count as failures; none for <see cref="StatusCode.Unavailable"/>.</param>
    /// <returns>This config.</returns>
    public LockFreeLoadBalancingConfig WithOutlierEjection(OutlierEjectionOptions options, params StatusCode[] failureCodes)
    {
        ArgumentNullException.ThrowIfNull(options);
        Values["outlier_ejection"] = new Dictionary<string, object>
        {
            ["consecutive_failures"] = (double)options.ConsecutiveFailures,
            ["base_ejection_seconds"] = options.BaseEjectionTime.TotalSeconds,
            ["max_ejection_seconds"] = options.MaxEjectionTime.TotalSeconds,
            ["max_ejected_share"] = options.MaxEjectedShare,
            ["status_codes"] = (failureCodes.Length == 0 ? [StatusCode.Unavailable] : failureCodes).Select(c => (object)c.ToString()).ToList(),
        };
        return this;
    }

    /// <summary>
    /// Parses one entry of a service config's <c>loadBalancingConfig</c> list, e.g.
    /// <c>{"lockfree_consistent_hash": {"hash_header": "x-user", "load_factor": 1.25}}</c>.
    /// </summary>
    /// <param name="json">The JSON object with one property, the policy name.</param>
    /// <returns>The config.</returns>
    /// <exception cref="FormatException">The text is not such an object.</exception>
    public static LockFreeLoadBalancingConfig Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        using JsonDocument document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object || document.RootElement.EnumerateObject().Count() != 1)
        {
            throw new FormatException("A loadBalancingConfig entry is an object with exactly one property, the policy name: {\"lockfree_p2c\": {}}.");
        }

        JsonProperty policy = document.RootElement.EnumerateObject().First();
        var config = new LockFreeLoadBalancingConfig(policy.Name);
        if (policy.Value.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty input in policy.Value.EnumerateObject())
            {
                config.Values[input.Name] = ToValue(input.Value)!;
            }
        }

        return config;
    }

    private void Set(string key, object? value)
    {
        if (value is null)
        {
            Values.Remove(key);
        }
        else
        {
            Values[key] = value;
        }
    }

    // The shapes grpc-dotnet's own JSON service config uses: string, double, bool, IList<object>, IDictionary<string, object>.
    private static object? ToValue(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Array => element.EnumerateArray().Select(ToValue).ToList(),
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => ToValue(p.Value)!),
        _ => null,
    };
}
