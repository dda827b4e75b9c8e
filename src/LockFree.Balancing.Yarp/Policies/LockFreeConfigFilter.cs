using LockFree.Balancing.Yarp.Kubernetes;
using Yarp.ReverseProxy.Configuration;

namespace LockFree.Balancing.Yarp.Policies;

/// <summary>
/// Checks every cluster when YARP loads its configuration (after destination resolution, before the configuration is
/// applied): the LockFree metadata of clusters that use a LockFree policy, their destination addresses and weights, and
/// that no Kubernetes address (<c>k8s://</c>) is left unresolved. A failure throws <see cref="LockFreeConfigException"/>,
/// which YARP reports as an invalid configuration: at start-up the host does not start, on a reload the previous
/// configuration stays. Requests never see a bad value.
/// </summary>
/// <remarks>Stateless; thread-safe. Returns the cluster unchanged.</remarks>
internal sealed class LockFreeConfigFilter : IProxyConfigFilter
{
    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        foreach ((string id, DestinationConfig destination) in cluster.Destinations ?? new Dictionary<string, DestinationConfig>())
        {
            if (KubernetesDestinationAddress.IsKubernetes(destination.Address))
            {
                throw new LockFreeConfigException(cluster.ClusterId, "Address",
                    $"destination '{id}' has the Kubernetes address '{destination.Address}', which nothing resolved: call AddKubernetesDestinations() on the reverse-proxy builder.");
            }
        }

        if (PolicyKinds.FromName(cluster.LoadBalancingPolicy) is not PolicyKind kind)
        {
            foreach (string key in (string[])[LockFreeClusterMetadata.HashKey, LockFreeClusterMetadata.LoadFactor])
            {
                if (cluster.Metadata?.ContainsKey(key) == true)
                {
                    throw new LockFreeConfigException(cluster.ClusterId, key,
                        $"metadata '{key}' is set but the load-balancing policy is '{cluster.LoadBalancingPolicy ?? "(default)"}': it is read only by {LockFreeLoadBalancingPolicies.ConsistentHash} and {LockFreeLoadBalancingPolicies.Maglev}. Set LoadBalancingPolicy or remove the key.");
                }
            }

            return ValueTask.FromResult(cluster);
        }

        _ = ClusterSettings.Parse(cluster, kind);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string id, DestinationConfig destination) in cluster.Destinations ?? new Dictionary<string, DestinationConfig>())
        {
            if (!DestinationEndpoints.TryCreate(id, destination, out Endpoint? endpoint, out string? problem))
            {
                throw new LockFreeConfigException(cluster.ClusterId, "Address", problem);
            }

            if (!seen.TryAdd(endpoint.Key, id))
            {
                throw new LockFreeConfigException(cluster.ClusterId, "Address",
                    $"destinations '{seen[endpoint.Key]}' and '{id}' both reach {endpoint.Key}; policy {kind.Name()} places by host and port, so each destination needs its own. To send one more share there, use metadata '{LockFreeClusterMetadata.Weight}'.");
            }
        }

        return ValueTask.FromResult(cluster);
    }

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel) => ValueTask.FromResult(route);
}
