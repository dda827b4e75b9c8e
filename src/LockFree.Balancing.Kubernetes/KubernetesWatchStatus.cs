namespace LockFree.Balancing.Kubernetes;

/// <summary>What a <see cref="KubernetesEndpointWatcher"/> knows about its own health. An immutable snapshot.</summary>
public sealed class KubernetesWatchStatus
{
    internal static readonly KubernetesWatchStatus Initial = new(null, null, isStale: true, null, 0, 0, 0, null);

    internal KubernetesWatchStatus(
        SyncError? lastError,
        DateTimeOffset? lastSyncTime,
        bool isStale,
        string? resourceVersion,
        long version,
        int consecutiveFailures,
        long listCount,
        string? portDiagnostic,
        string? warning = null)
    {
        PortDiagnostic = portDiagnostic;
        Warning = warning;
        LastError = lastError;
        LastSyncTime = lastSyncTime;
        IsStale = isStale;
        ResourceVersion = resourceVersion;
        Version = version;
        ConsecutiveFailures = consecutiveFailures;
        ListCount = listCount;
    }

    /// <summary>The most recent failed call, kept after recovery so that the last cause stays visible.</summary>
    public SyncError? LastError { get; }

    /// <summary>When the endpoint set was last known to be current: a LIST completed, a watch connected or delivered an event.</summary>
    public DateTimeOffset? LastSyncTime { get; }

    /// <summary>
    /// True before the first successful LIST and after any failure until the next success: the endpoints shown are
    /// the last known good set, which may be out of date.
    /// </summary>
    public bool IsStale { get; }

    /// <summary>The resourceVersion a watch resumes from (opaque).</summary>
    public string? ResourceVersion { get; }

    /// <summary>How many times a changed endpoint set has been published.</summary>
    public long Version { get; }

    /// <summary>Failed attempts since the last success; drives the backoff.</summary>
    public int ConsecutiveFailures { get; }

    /// <summary>How many complete LISTs ran (the first sync plus every relist after 410 Gone or an oversize event).</summary>
    public long ListCount { get; }

    /// <summary>
    /// Why the Service's endpoints do not (all) reach the balancer although slices exist: the wanted port is in none
    /// (or not all) of them, or no port was given and the slices offer several. <see langword="null"/> when every
    /// slice of the chosen address family resolved the port.
    /// </summary>
    public string? PortDiagnostic { get; }

    /// <summary>
    /// A condition that leaves the published set incomplete although every call succeeds; <see langword="null"/> when
    /// there is none. Today: a legacy core/v1 Endpoints object the controller truncated at 1000 addresses
    /// (<c>endpoints.kubernetes.io/over-capacity</c>), which only EndpointSlices can overcome.
    /// </summary>
    public string? Warning { get; }

    internal KubernetesWatchStatus WithPortDiagnostic(string? portDiagnostic)
        => new(LastError, LastSyncTime, IsStale, ResourceVersion, Version, ConsecutiveFailures, ListCount, portDiagnostic, Warning);

    internal KubernetesWatchStatus WithWarning(string? warning)
        => new(LastError, LastSyncTime, IsStale, ResourceVersion, Version, ConsecutiveFailures, ListCount, PortDiagnostic, warning);

    internal KubernetesWatchStatus With(
        SyncError? lastError = null,
        DateTimeOffset? lastSyncTime = null,
        bool? isStale = null,
        string? resourceVersion = null,
        long? version = null,
        int? consecutiveFailures = null,
        long? listCount = null)
        => new(
            lastError ?? LastError,
            lastSyncTime ?? LastSyncTime,
            isStale ?? IsStale,
            resourceVersion ?? ResourceVersion,
            version ?? Version,
            consecutiveFailures ?? ConsecutiveFailures,
            listCount ?? ListCount,
            PortDiagnostic,
            Warning);
}
