using System.Globalization;
using Yarp.ReverseProxy.Configuration;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// What a LockFree policy reads from one cluster's configuration: the policy, the key source and the load factor.
/// Parsed (and so validated) by <see cref="LockFreeConfigFilter"/> when YARP loads the configuration, and again by the
/// policy when a cluster's configuration object changes; equal settings keep the cluster's core balancer.
/// </summary>
internal sealed record ClusterSettings(PolicyKind Kind, HashKeySource? Key, double? LoadFactor)
{
    /// <summary>The settings of <paramref name="cluster"/>, whose policy is <paramref name="kind"/>.</summary>
    /// <exception cref="LockFreeConfigException">A LockFree metadata value is missing, malformed or not read by this policy.</exception>
    public static ClusterSettings Parse(ClusterConfig cluster, PolicyKind kind)
    {
        IReadOnlyDictionary<string, string>? metadata = cluster.Metadata;
        string? keyText = Get(metadata, LockFreeClusterMetadata.HashKey);
        string? factorText = Get(metadata, LockFreeClusterMetadata.LoadFactor);

        if (!kind.PlacesByKey())
        {
            foreach (string key in (string[])[LockFreeClusterMetadata.HashKey, LockFreeClusterMetadata.LoadFactor])
            {
                if (Get(metadata, key) is not null)
                {
                    throw new LockFreeConfigException(cluster.ClusterId, key,
                        $"metadata '{key}' is read only by the hashing policies ({LockFreeLoadBalancingPolicies.ConsistentHash}, {LockFreeLoadBalancingPolicies.Maglev}); policy {kind.Name()} does not use it. Remove it or change the policy.");
                }
            }

            return new ClusterSettings(kind, null, null);
        }

        if (keyText is null)
        {
            throw new LockFreeConfigException(cluster.ClusterId, LockFreeClusterMetadata.HashKey,
                $"policy {kind.Name()} needs metadata '{LockFreeClusterMetadata.HashKey}' to say where the affinity key comes from: {HashKeySource.AcceptedForms}.");
        }

        if (!HashKeySource.TryParse(keyText, out HashKeySource? source, out string? problem))
        {
            throw new LockFreeConfigException(cluster.ClusterId, LockFreeClusterMetadata.HashKey, $"metadata '{LockFreeClusterMetadata.HashKey}': {problem}");
        }

        double? factor = null;
        if (factorText is not null)
        {
            if (!double.TryParse(factorText, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed))
            {
                throw new LockFreeConfigException(cluster.ClusterId, LockFreeClusterMetadata.LoadFactor,
                    $"metadata '{LockFreeClusterMetadata.LoadFactor}' is '{factorText}', which is not a number: expected a factor above 1 and at most {ConsistentHashOptions.MaxLoadFactor} with '.' as the decimal point, for example 1.25.");
            }

            factor = parsed;
            try
            {
                // The core's own check, so the accepted range cannot drift from the picker's.
                _ = new ConsistentHashBalancer(new ConsistentHashOptions { LoadFactor = parsed });
            }
            catch (ArgumentException ex)
            {
                throw new LockFreeConfigException(cluster.ClusterId, LockFreeClusterMetadata.LoadFactor, $"metadata '{LockFreeClusterMetadata.LoadFactor}': {FirstSentence(ex.Message)}");
            }
        }

        return new ClusterSettings(kind, source, factor);
    }

    /// <summary>
    /// True when a pick must count the request in flight as it places it: power of two choices compares those counts,
    /// and bounded loads admit against them, so concurrent picks have to see each other (and the bounded-load admission
    /// is one compare-and-swap). Round robin and unbounded hashing read no count: their picks take an index and the
    /// forwarder wrapper counts the request while it is forwarded, as it does for a request YARP routed itself.
    /// </summary>
    public bool CountsAtPick => Kind == PolicyKind.PowerOfTwoChoices || LoadFactor is not null;

    /// <summary>A fresh core balancer for these settings.</summary>
    public LoadBalancer CreateCore(TimeProvider timeProvider) => Kind switch
    {
        PolicyKind.ConsistentHash => new ConsistentHashBalancer(new ConsistentHashOptions { LoadFactor = LoadFactor, TimeProvider = timeProvider }),
        PolicyKind.Maglev => new MaglevBalancer(new MaglevOptions { LoadFactor = LoadFactor, TimeProvider = timeProvider }),
        PolicyKind.PowerOfTwoChoices => new PowerOfTwoChoicesBalancer(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.InFlight, TimeProvider = timeProvider }),
        _ => new RoundRobinBalancer(),
    };

    private static string? Get(IReadOnlyDictionary<string, string>? metadata, string key)
        => metadata is not null && metadata.TryGetValue(key, out string? value) ? value : null;

    // ArgumentException appends " (Parameter 'x')"; the sentence before it is the core's message.
    private static string FirstSentence(string message)
    {
        int parameter = message.LastIndexOf(" (Parameter", StringComparison.Ordinal);
        return parameter < 0 ? message : message[..parameter];
    }
}
