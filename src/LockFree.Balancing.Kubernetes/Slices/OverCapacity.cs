namespace LockFree.Balancing.Kubernetes.Slices;

/// <summary>
/// The <c>endpoints.kubernetes.io/over-capacity</c> annotation of a legacy core/v1 Endpoints object: the endpoints
/// controller puts at most 1000 addresses in one object and marks it (since Kubernetes 1.22 it truncates).
/// </summary>
internal enum OverCapacity
{
    /// <summary>No annotation: the object holds every address.</summary>
    None,

    /// <summary>Any other value (<c>warning</c> in 1.19–1.21): over 1000 addresses, not (yet) truncated.</summary>
    Warning,

    /// <summary><c>truncated</c>: the object holds only 1000 of the Service's addresses.</summary>
    Truncated,
}
