using LockFree.Balancing.Yarp.Policies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
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

    /// <summary>What YARP's routing does for a request to <paramref name="cluster"/>: the request's proxy feature.</summary>
    public static ProxyFeature Route(HttpContext context, ClusterState cluster)
    {
        var route = new RouteModel(new RouteConfig { RouteId = "r-" + cluster.ClusterId, ClusterId = cluster.ClusterId }, cluster, HttpTransformer.Default);
        var feature = new ProxyFeature(route, cluster.Model, cluster.DestinationsState.AvailableDestinations);
        context.Features.Set<IReverseProxyFeature>(feature);
        return feature;
    }

    /// <summary>A call through <paramref name="forwarder"/> whose inner forwarder completes at once: so must the wrapped call.</summary>
    public static ForwarderError SendNow(IHttpForwarder forwarder, HttpContext context)
    {
        ValueTask<ForwarderError> call = forwarder.SendAsync(context, "http://x/", null!, ForwarderRequestConfig.Empty, HttpTransformer.Default);
        return call.IsCompletedSuccessfully ? call.Result : throw new InvalidOperationException("the wrapped call did not complete with the inner one");
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

    /// <summary>The request's proxy feature as YARP sets it (YARP's own type is internal).</summary>
    internal sealed class ProxyFeature(RouteModel route, ClusterModel cluster, IReadOnlyList<DestinationState> destinations) : IReverseProxyFeature
    {
        public RouteModel Route { get; } = route;

        public ClusterModel Cluster { get; set; } = cluster;

        public IReadOnlyList<DestinationState> AllDestinations { get; } = destinations;

        public IReadOnlyList<DestinationState> AvailableDestinations { get; set; } = destinations;

        /// <summary>Set by YARP's forwarder middleware to the destination the request goes to.</summary>
        public DestinationState? ProxiedDestination { get; set; }
    }

    /// <summary>An inner forwarder that runs a script instead of sending.</summary>
    internal sealed class ScriptedForwarder(Func<HttpContext, ValueTask<ForwarderError>> send) : IHttpForwarder
    {
        public ScriptedForwarder(Func<ValueTask<ForwarderError>> run)
            : this(_ => run())
        {
        }

        public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer)
            => send(context);

        public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer, CancellationToken cancellationToken)
            => send(context);
    }
}
