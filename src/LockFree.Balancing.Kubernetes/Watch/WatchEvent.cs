using LockFree.Balancing.Kubernetes.Slices;

namespace LockFree.Balancing.Kubernetes.Watch;

/// <summary>One parsed line of a watch stream.</summary>
/// <param name="Type">The event type.</param>
/// <param name="ResourceVersionBytes">
/// The object's <c>metadata.resourceVersion</c> (<see cref="ResourceVersionBuffer.HasValue"/> false when absent), in
/// the buffer the caller gave the parser: valid until the next event is parsed into the same buffer.
/// </param>
/// <param name="Slice">The slice for ADDED, MODIFIED and DELETED.</param>
/// <param name="Status">The Status for ERROR.</param>
/// <param name="IsInitialEventsEnd">A BOOKMARK annotated <c>k8s.io/initial-events-end: "true"</c>.</param>
/// <param name="LegacySlices">
/// For a core/v1 Endpoints event (ADDED, MODIFIED, DELETED): the object's subsets as synthetic slices, one per
/// subset and address family (empty for DELETED); they replace the whole state, as the watch selects one object.
/// </param>
internal readonly record struct WatchEvent(
    WatchEventType Type,
    ResourceVersionBuffer ResourceVersionBytes,
    EndpointSlice? Slice,
    ApiStatus? Status,
    bool IsInitialEventsEnd,
    IReadOnlyList<EndpointSlice>? LegacySlices = null)
{
    /// <summary>The resourceVersion as text (allocated on first use), or <see langword="null"/> when the object had none.</summary>
    public string? ResourceVersion => ResourceVersionBytes.Text;
}
