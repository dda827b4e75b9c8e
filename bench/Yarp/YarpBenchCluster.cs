using LockFree.Balancing.Yarp;
using LockFree.Balancing.Yarp.Policies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace LockFree.Balancing.Benchmarks.Yarp;

/// <summary>
/// A cluster as YARP's runtime model holds it, with <see cref="YarpPolicyBenchmarks.PicksPerInvoke"/> requests routed to it
/// (each with an <c>x-user</c> header and the request's proxy feature, as YARP's routing sets it).
/// </summary>
internal sealed class YarpBenchCluster
{
    public YarpBenchCluster(string id, string policy, string? hashKey, string? loadFactor, DestinationState[] destinations)
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

        var config = new ClusterConfig { ClusterId = id, LoadBalancingPolicy = policy, Metadata = metadata };
        State = new ClusterState(id, new ClusterModel(config, new HttpMessageInvoker(new SocketsHttpHandler())));
        State.DestinationsState = new ClusterDestinationsState(destinations, destinations);
        var route = new RouteModel(new RouteConfig { RouteId = id, ClusterId = id }, State, HttpTransformer.Default);
        Features = [.. Enumerable.Range(0, YarpPolicyBenchmarks.PicksPerInvoke).Select(_ => new ProxyFeature(route, State.Model, destinations))];
        Requests = [.. Enumerable.Range(0, YarpPolicyBenchmarks.PicksPerInvoke).Select(i =>
        {
            var context = new DefaultHttpContext();
            context.Request.Headers["x-user"] = "user-" + i;
            context.Features.Set<IReverseProxyFeature>(Features[i]);
            return context;
        })];
    }

    public ClusterState State { get; }

    /// <summary>
    /// The container the YARP benchmarks pick through: <c>AddReverseProxy().AddLockFreeLoadBalancing()</c>, with its
    /// policies (YARP's and LockFree's) and the forwarder wrapper.
    /// </summary>
    public static ServiceProvider BuildProxyServices(out LeaseReleasingForwarder forwarder, out ILoadBalancingPolicy[] policies)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddReverseProxy().AddLockFreeLoadBalancing();
        ServiceProvider provider = services.BuildServiceProvider();
        forwarder = (LeaseReleasingForwarder)provider.GetRequiredService<IHttpForwarder>();
        policies = [.. provider.GetServices<ILoadBalancingPolicy>()];
        return provider;
    }

    /// <summary><paramref name="count"/> available destinations on distinct pod addresses.</summary>
    public static DestinationState[] Destinations(int count) => [.. Enumerable.Range(0, count).Select(i => new DestinationState(
        "d" + i,
        new DestinationModel(new DestinationConfig { Address = $"http://10.{i / 250}.{i % 250}.1:8080/" })))];

    public DefaultHttpContext[] Requests { get; }

    public ProxyFeature[] Features { get; }
}

/// <summary>The request's proxy feature, as YARP's routing sets it (YARP's own type is internal).</summary>
internal sealed class ProxyFeature(RouteModel route, ClusterModel cluster, IReadOnlyList<DestinationState> destinations) : IReverseProxyFeature
{
    public RouteModel Route { get; } = route;

    public ClusterModel Cluster { get; set; } = cluster;

    public IReadOnlyList<DestinationState> AllDestinations { get; } = destinations;

    public IReadOnlyList<DestinationState> AvailableDestinations { get; set; } = destinations;

    public DestinationState? ProxiedDestination { get; set; }
}
