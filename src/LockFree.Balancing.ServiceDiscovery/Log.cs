using LockFree.Balancing.Kubernetes;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.ServiceDiscovery;

/// <summary>
/// Every log event of the ServiceDiscovery provider, ids 400-499 (the adapter uses 100-199, HTTP 200-299). Messages
/// carry names, Services and counts, never a token.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 400, EventName = "NameClaimed", Level = LogLevel.Debug,
        Message = "Service discovery name {Name} resolves from Kubernetes Service {Service}")]
    public static partial void NameClaimed(ILogger logger, string name, ServiceReference service);

    [LoggerMessage(EventId = 401, EventName = "NamePassed", Level = LogLevel.Debug,
        Message = "Service discovery name {Name} is left to the other providers: {Reason}")]
    public static partial void NamePassed(ILogger logger, string name, string reason);

    [LoggerMessage(EventId = 402, EventName = "Subscribed", Level = LogLevel.Debug,
        Message = "Service discovery name {Name} subscribed to the watch of Service {Service}")]
    public static partial void Subscribed(ILogger logger, string name, ServiceReference service);

    [LoggerMessage(EventId = 403, EventName = "EndpointsChanged", Level = LogLevel.Debug,
        Message = "Service discovery name {Name}: Service {Service} now has {Count} ready endpoints")]
    public static partial void EndpointsChanged(ILogger logger, string name, ServiceReference service, int count);

    [LoggerMessage(EventId = 404, EventName = "ResolutionFailed", Level = LogLevel.Warning,
        Message = "Service discovery name {Name} could not be resolved: the watch of Service {Service} failed before its first sync: {Error}")]
    public static partial void ResolutionFailed(ILogger logger, string name, ServiceReference service, SyncError error);

    [LoggerMessage(EventId = 405, EventName = "SkippedResolution", Level = LogLevel.Debug,
        Message = "Service discovery name {Name}: Service {Service} not consulted, an earlier provider already resolved it")]
    public static partial void SkippedResolution(ILogger logger, string name, ServiceReference service);
}
