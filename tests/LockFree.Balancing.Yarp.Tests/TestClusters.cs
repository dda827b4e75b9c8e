using LockFree.Balancing.Yarp.Policies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace LockFree.Balancing.Yarp.Tests;

/// <summary>YARP's runtime model built by hand (its public test constructors), for policy tests without a proxy.</summary>
internal static class TestClusters
{
    public static LockFreeLoadBalancingPolicy Policy(PolicyKind kind) => new(kind, TimeProvider.System, NullLogger.Instance);

    public static ClusterConfig Config(string policy, string? hashKey = null, string? loadFactor = null)
    {
        var metadata = new Dictionary<string, string>();
        if (hashKey is not null)
        {
            metadata[LockFreeClusterMetadata.HashKey] = hashKey;
        }

        if (loadFactor is not null)
        {
            metadata[LockFreeClusterMetadata.LoadFactor] = loadFactor;
        }

        return new ClusterConfig { ClusterId = "c", LoadBalancingPolicy = policy, Metadata = metadata };
    }

    public static DestinationState Destination(int index, int? weight = null) => new(
        "d" + index,
        new DestinationModel(new DestinationConfig
        {
            Address = $"http://10.0.0.{index + 1}:8080/",
            Metadata = weight is null ? null : new Dictionary<string, string> { [LockFreeClusterMetadata.Weight] = weight.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        }));

    public static DestinationState[] Destinations(int count) => [.. Enumerable.Range(0, count).Select(i => Destination(i))];

    public static ClusterState Cluster(ClusterConfig config, IReadOnlyList<DestinationState> destinations)
    {
        var cluster = new ClusterState(config.ClusterId, new ClusterModel(config, new HttpMessageInvoker(new SocketsHttpHandler())));
        Publish(cluster, destinations);
        return cluster;
    }

    /// <summary>What YARP does when destinations or their health change: a new available list object.</summary>
    public static IReadOnlyList<DestinationState> Publish(ClusterState cluster, IReadOnlyList<DestinationState> destinations)
    {
        DestinationState[] list = [.. destinations];
        cluster.DestinationsState = new ClusterDestinationsState(list, list);
        return list;
    }

    public static DefaultHttpContext Request(string? user = null)
    {
        var context = new DefaultHttpContext();
        if (user is not null)
        {
            context.Request.Headers["x-user"] = user;
        }

        return context;
    }
}
