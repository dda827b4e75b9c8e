using LockFree.Balancing.Kubernetes.Slices;

namespace LockFree.Balancing.Kubernetes.Watch;

/// <summary>One page of a LIST response.</summary>
/// <param name="ResourceVersion"><c>metadata.resourceVersion</c>: where a WATCH resumes.</param>
/// <param name="Continue"><c>metadata.continue</c>: the token for the next page, or <see langword="null"/> on the last page.</param>
/// <param name="Items">The slices of this page.</param>
internal sealed record EndpointSliceList(string? ResourceVersion, string? Continue, IReadOnlyList<EndpointSlice> Items);
