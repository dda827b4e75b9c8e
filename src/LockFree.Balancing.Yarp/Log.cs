using LockFree.Balancing.Kubernetes;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Yarp;

/// <summary>
/// Every log event of the YARP integration, ids 500-599 (the adapter uses 100-199, HTTP 200-299, ServiceDiscovery
/// 400-499). Messages carry cluster ids, Services, addresses and counts, never a key or a header value.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 500, EventName = "TableBuilt", Level = LogLevel.Debug,
        Message = "Cluster {ClusterId}: policy {Policy} rebuilt its picker over {Endpoints} endpoints ({Destinations} available destinations)")]
    public static partial void TableBuilt(ILogger logger, string clusterId, string policy, int endpoints, int destinations);

    [LoggerMessage(EventId = 501, EventName = "ServiceSubscribed", Level = LogLevel.Debug,
        Message = "Kubernetes destinations: subscribed to the watch of Service {Service}")]
    public static partial void ServiceSubscribed(ILogger logger, ServiceReference service);

    [LoggerMessage(EventId = 502, EventName = "ServiceChanged", Level = LogLevel.Debug,
        Message = "Kubernetes destinations: Service {Service} now has {Count} ready endpoints; YARP re-resolves its clusters")]
    public static partial void ServiceChanged(ILogger logger, ServiceReference service, int count);

    [LoggerMessage(EventId = 503, EventName = "ResolutionFailed", Level = LogLevel.Warning,
        Message = "Kubernetes destinations: destination {DestinationId} ({Address}) could not be resolved: {Error}")]
    public static partial void ResolutionFailed(ILogger logger, string destinationId, string address, string error);
}
