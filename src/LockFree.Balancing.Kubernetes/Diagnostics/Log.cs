using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Kubernetes.Diagnostics;

/// <summary>
/// Every log message of the adapter, source-generated (no boxing, no formatting when the level is off). Event ids
/// 100–199 belong to this assembly and are all declared here. Nothing here ever takes a token: messages carry
/// counts, names, codes and the error text built by the API client, which never holds a credential.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Service {Namespace}/{Service}: published {Count} endpoints (was {PreviousCount}), resourceVersion {ResourceVersion}")]
    public static partial void EndpointsChanged(ILogger logger, string @namespace, string service, int count, int previousCount, string? resourceVersion);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Service {Namespace}/{Service}: listed {Slices} slices at resourceVersion {ResourceVersion}")]
    public static partial void Listed(ILogger logger, string @namespace, string service, int slices, string resourceVersion);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Service {Namespace}/{Service}: relisting ({Reason})")]
    public static partial void Relisting(ILogger logger, string @namespace, string service, string reason);

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Service {Namespace}/{Service}: watch ended after {ElapsedSeconds:0.###} s with {Changes} changes")]
    public static partial void WatchEnded(ILogger logger, string @namespace, string service, double elapsedSeconds, int changes);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Service {Namespace}/{Service}: the LIST at resourceVersion \"{ResourceVersion}\" was refused ({StatusCode}); listing again with a consistent read from etcd (resourceVersion=\"\")")]
    public static partial void ListingFromEtcd(ILogger logger, string @namespace, string service, string resourceVersion, int? statusCode);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Service {Namespace}/{Service}: {Error}")]
    public static partial void ApiError(ILogger logger, string @namespace, string service, string error);

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "Service {Namespace}/{Service}: the API server does not support streaming lists; using LIST + WATCH from now on")]
    public static partial void StreamingListFallback(ILogger logger, string @namespace, string service);

    [LoggerMessage(EventId = 112, Level = LogLevel.Error, Message = "Service {Namespace}/{Service}: the endpoint subscriber threw; the set will be delivered again")]
    public static partial void SubscriberFailed(ILogger logger, string @namespace, string service, Exception exception);

    [LoggerMessage(EventId = 113, Level = LogLevel.Critical, Message = "Service {Namespace}/{Service}: the watch loop stopped unexpectedly")]
    public static partial void LoopStopped(ILogger logger, string @namespace, string service, Exception exception);

    [LoggerMessage(EventId = 114, Level = LogLevel.Warning, Message = "Service {Namespace}/{Service}: {Diagnostic}")]
    public static partial void PortNotOffered(ILogger logger, string @namespace, string service, string diagnostic);

    [LoggerMessage(EventId = 115, Level = LogLevel.Information, Message = "Service {Namespace}/{Service}: port {Port} is a Service port ({Mapping}); its endpoints are resolved by the target port the EndpointSlices list")]
    public static partial void ServicePortMapped(ILogger logger, string @namespace, string service, int port, string mapping);

    [LoggerMessage(EventId = 116, Level = LogLevel.Warning, Message = "Service {Namespace}/{Service}: {Warning}")]
    public static partial void LegacyEndpointsOverCapacity(ILogger logger, string @namespace, string service, string warning);

    [LoggerMessage(EventId = 120, Level = LogLevel.Information, Message = "The bearer token file {Path} was read again and holds a new token")]
    public static partial void TokenFileReloaded(ILogger logger, string path);

    [LoggerMessage(EventId = 121, Level = LogLevel.Warning, Message = "The bearer token file {Path} could not be read; keeping the previous token: {Error}")]
    public static partial void TokenFileUnreadable(ILogger logger, string path, string error);

    [LoggerMessage(EventId = 122, Level = LogLevel.Information, Message = "The exec credential plugin {Command} ran; credentials expire at {ExpiresAt} (none: kept until a 401)")]
    public static partial void ExecCredentialObtained(ILogger logger, string command, DateTimeOffset? expiresAt);

    [LoggerMessage(EventId = 123, Level = LogLevel.Information, Message = "The API server answered 401; credentials will be obtained again before the next request")]
    public static partial void CredentialsRejected(ILogger logger);
}
