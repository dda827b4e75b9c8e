using LockFree.Balancing.Kubernetes.Slices;

namespace LockFree.Balancing.Kubernetes.Watch;

/// <summary>One parsed line of a watch stream.</summary>
/// <param name="Type">The event type.</param>
/// <param name="ResourceVersion">The object's <c>metadata.resourceVersion</c>, if any.</param>
/// <param name="Slice">The slice for ADDED, MODIFIED and DELETED.</param>
/// <param name="Status">The Status for ERROR.</param>
/// <param name="IsInitialEventsEnd">A BOOKMARK annotated <c>k8s.io/initial-events-end: "true"</c>.</param>
/// <param name="LegacySlices">
/// For a core/v1 Endpoints event (ADDED, MODIFIED, DELETED): the object's subsets as synthetic slices, one per
/// subset and address family (empty for DELETED); they replace the whole state, as the watch selects one object.
/// </param>
internal readonly record struct WatchEvent(
    WatchEventType Type,
    string? ResourceVersion,
    EndpointSlice? Slice,
    ApiStatus? Status,
    bool IsInitialEventsEnd,
    IReadOnlyList<EndpointSlice>? LegacySlices = null);
