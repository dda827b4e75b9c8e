using System.Globalization;
using Grpc.Core;

namespace LockFree.Balancing.Grpc;

/// <summary>
/// One policy instance's inputs: its service-config object (JSON-shaped values: string, number, bool, list, object)
/// over the process defaults. Immutable once parsed.
/// </summary>
internal sealed class PolicySettings
{
    private PolicySettings(string policy) => Policy = policy;

    public string Policy { get; }

    public string? HashHeader { get; private init; }

    /// <summary>The clock for ejection times and reservation ages.</summary>
    public TimeProvider Time { get; private init; } = TimeProvider.System;

    public double? LoadFactor { get; private init; }

    public int? VirtualNodes { get; private init; }

    public int? TableSize { get; private init; }

    public string? LocalZone { get; private init; }

    public OutlierEjectionOptions? OutlierEjection { get; private init; }

    /// <summary>Indexed by <see cref="StatusCode"/>: true when that status counts as an endpoint failure.</summary>
    public bool[] FailureCodes { get; private init; } = [];

    public bool PlacesByKey => Policy is LockFreePolicyNames.ConsistentHash or LockFreePolicyNames.Maglev;

    /// <summary>
    /// True when a pick must count its call at once (bounded loads, whose cap must see concurrent picks; P2C, whose
    /// choice reads the counts); the other policies count a call from its <c>Start</c>, and their picks touch no counter.
    /// </summary>
    public bool CountsAtPick => LoadFactor is not null || Policy is LockFreePolicyNames.PowerOfTwoChoices;

    /// <exception cref="InvalidOperationException">An input has the wrong type or an unknown name.</exception>
    public static PolicySettings Parse(string policy, IDictionary<string, object>? config, KubernetesGrpcBalancingOptions defaults, TimeProvider? time = null)
    {
        config ??= new Dictionary<string, object>();
        foreach (string key in config.Keys)
        {
            if (key is not ("hash_header" or "load_factor" or "virtual_nodes" or "table_size" or "local_zone" or "outlier_ejection"))
            {
                throw Invalid(policy, key, "is not an input of this policy (accepted: hash_header, load_factor, virtual_nodes, table_size, local_zone, outlier_ejection)");
            }
        }

        OutlierEjectionOptions? ejection = defaults.OutlierEjection;
        IEnumerable<StatusCode> codes = defaults.FailureStatusCodes;
        if (config.TryGetValue("outlier_ejection", out object? ejectionValue))
        {
            if (ejectionValue is not IDictionary<string, object> e)
            {
                throw Invalid(policy, "outlier_ejection", "must be an object");
            }

            var parsed = new OutlierEjectionOptions();
            parsed.ConsecutiveFailures = Int(policy, e, "consecutive_failures") ?? parsed.ConsecutiveFailures;
            parsed.BaseEjectionTime = Seconds(policy, e, "base_ejection_seconds") ?? parsed.BaseEjectionTime;
            parsed.MaxEjectionTime = Seconds(policy, e, "max_ejection_seconds") ?? parsed.MaxEjectionTime;
            parsed.MaxEjectedShare = Number(policy, e, "max_ejected_share") ?? parsed.MaxEjectedShare;
            ejection = parsed;
            if (e.TryGetValue("status_codes", out object? list))
            {
                codes = StatusCodes(policy, list);
            }
        }

        var failureCodes = new bool[(int)StatusCode.Unauthenticated + 1];
        foreach (StatusCode code in codes)
        {
            failureCodes[(int)code] = true;
        }

        return new PolicySettings(policy)
        {
            Time = time ?? TimeProvider.System,
            HashHeader = String(policy, config, "hash_header")?.ToLowerInvariant(),
            LoadFactor = Number(policy, config, "load_factor"),
            VirtualNodes = Int(policy, config, "virtual_nodes"),
            TableSize = Int(policy, config, "table_size"),
            LocalZone = String(policy, config, "local_zone") ?? defaults.LocalZone,
            OutlierEjection = ejection,
            FailureCodes = failureCodes,
        };
    }

    /// <summary>The core balancer of this policy.</summary>
    /// <exception cref="ArgumentException">The core rejects an option (its message says which and why).</exception>
    public LoadBalancer CreateCore()
    {
        TopologyOptions? topology = LocalZone is null ? null : new TopologyOptions { LocalZone = LocalZone };
        switch (Policy)
        {
            case LockFreePolicyNames.ConsistentHash:
                var ring = new ConsistentHashOptions { TimeProvider = Time, LoadFactor = LoadFactor, OutlierEjection = OutlierEjection, Topology = topology };
                if (VirtualNodes is int nodes)
                {
                    ring.VirtualNodesPerEndpoint = nodes;
                }

                return new ConsistentHashBalancer(ring);
            case LockFreePolicyNames.Maglev:
                var maglev = new MaglevOptions { TimeProvider = Time, LoadFactor = LoadFactor, OutlierEjection = OutlierEjection, Topology = topology };
                if (TableSize is int size)
                {
                    maglev.TableSize = size;
                }

                return new MaglevBalancer(maglev);
            case LockFreePolicyNames.RoundRobin:
                return new RoundRobinBalancer(new LoadBalancerOptions { TimeProvider = Time, OutlierEjection = OutlierEjection, Topology = topology });
            default:
                return new PowerOfTwoChoicesBalancer(new PowerOfTwoChoicesOptions { TimeProvider = Time, LoadMeasure = LoadMeasure.InFlight, OutlierEjection = OutlierEjection, Topology = topology });
        }
    }

    private static string? String(string policy, IDictionary<string, object> config, string key)
        => !config.TryGetValue(key, out object? value) || value is null ? null
            : value as string ?? throw Invalid(policy, key, "must be a string");

    private static double? Number(string policy, IDictionary<string, object> config, string key)
    {
        if (!config.TryGetValue(key, out object? value) || value is null)
        {
            return null;
        }

        return value switch
        {
            double d => d,
            float f => f,
            int i => i,
            long l => l,
            decimal m => (double)m,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) => parsed,
            _ => throw Invalid(policy, key, "must be a number"),
        };
    }

    private static int? Int(string policy, IDictionary<string, object> config, string key)
        => Number(policy, config, key) is double d
            ? d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue ? (int)d : throw Invalid(policy, key, "must be a whole number")
            : null;

    private static TimeSpan? Seconds(string policy, IDictionary<string, object> config, string key)
        => Number(policy, config, key) is double d ? TimeSpan.FromSeconds(d) : null;

    private static List<StatusCode> StatusCodes(string policy, object? value)
    {
        if (value is not IEnumerable<object> items || value is string)
        {
            throw Invalid(policy, "outlier_ejection.status_codes", "must be a list of status names (\"UNAVAILABLE\") or numbers");
        }

        var codes = new List<StatusCode>();
        foreach (object item in items)
        {
            StatusCode code = item switch
            {
                string name when Enum.TryParse(name.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out StatusCode parsed) => parsed,
                double or int or long when Convert.ToInt32(item, CultureInfo.InvariantCulture) is int n and >= 0 and <= (int)StatusCode.Unauthenticated => (StatusCode)n,
                _ => throw Invalid(policy, "outlier_ejection.status_codes", $"holds '{item}', which is not a gRPC status code"),
            };
            codes.Add(code);
        }

        return codes;
    }

    private static InvalidOperationException Invalid(string policy, string key, string problem)
        => new($"The service config of load-balancing policy '{policy}' is not valid: '{key}' {problem}.");
}
