using LockFree.Balancing.Load;

namespace LockFree.Balancing;

/// <summary>Hand-over of a lease's count to an integration that releases it on its own schedule.</summary>
public partial struct EndpointLease
{
    /// <summary>
    /// Takes the endpoint state this lease would release and empties the lease (a later <see cref="Dispose"/> does
    /// nothing); the caller now owns one count on it. <see langword="null"/> for an empty lease.
    /// </summary>
    internal EndpointState? TakeState()
    {
        EndpointState? state = _state;
        _state = null;
        return state;
    }
}
