using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Http;

/// <summary>
/// Every log event of the HTTP integration, ids 200-299 (the Kubernetes adapter uses its own range). Messages carry
/// Services, endpoints and counts, never a header, key, URL query or token.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 200, EventName = "BalancingStarted", Level = LogLevel.Information,
        Message = "Balancing requests to Service {Service} with {Picker}; keyed requests with {AffinityPicker}")]
    public static partial void BalancingStarted(ILogger logger, string service, BalancingPicker picker, BalancingPicker affinityPicker);

    [LoggerMessage(EventId = 207, EventName = "BalancingStartedWithoutAffinity", Level = LogLevel.Information,
        Message = "Balancing requests to Service {Service} with {Picker}; no affinity source is set")]
    public static partial void BalancingStartedWithoutAffinity(ILogger logger, string service, BalancingPicker picker);

    [LoggerMessage(EventId = 201, EventName = "EndpointsChanged", Level = LogLevel.Information,
        Message = "Service {Service} now has {Count} endpoints (was {Previous})")]
    public static partial void EndpointsChanged(ILogger logger, string service, int count, int previous);

    [LoggerMessage(EventId = 202, EventName = "EndpointEjected", Level = LogLevel.Warning,
        Message = "Endpoint {Endpoint} of Service {Service} ejected for {Duration} after repeated failures (ejection number {TimesEjected})")]
    public static partial void EndpointEjected(ILogger logger, string endpoint, string service, TimeSpan duration, int timesEjected);

    [LoggerMessage(EventId = 203, EventName = "RetryingOnAnotherEndpoint", Level = LogLevel.Warning,
        Message = "{Method} to Service {Service} failed on endpoint {Endpoint} ({Reason}); retrying once on endpoint {Retry}")]
    public static partial void RetryingOnAnotherEndpoint(ILogger logger, string method, string service, string endpoint, string reason, string retry);

    [LoggerMessage(EventId = 204, EventName = "ConnectionFailedNotRetried", Level = LogLevel.Information,
        Message = "{Method} to Service {Service} could not connect to endpoint {Endpoint} ({Reason}); not retried: {WhyNot}")]
    public static partial void ConnectionFailedNotRetried(ILogger logger, string method, string service, string endpoint, string reason, string whyNot);

    [LoggerMessage(EventId = 205, EventName = "NoEndpoints", Level = LogLevel.Warning,
        Message = "No endpoint available for Service {Service} ({Detail})")]
    public static partial void NoEndpoints(ILogger logger, string service, string detail);

    [LoggerMessage(EventId = 208, EventName = "LoadReportIgnored", Level = LogLevel.Debug,
        Message = "Ignored the load {Value} that {Endpoint} of Service {Service} reported in {Header}: it must be a finite number of at least 0")]
    public static partial void LoadReportIgnored(ILogger logger, string value, string endpoint, string service, string header);

    [LoggerMessage(EventId = 206, EventName = "ServiceResolutionFailed", Level = LogLevel.Error,
        Message = "The request host {Host} does not name a Kubernetes Service: {Reason}")]
    public static partial void ServiceResolutionFailed(ILogger logger, string host, string reason);
}
