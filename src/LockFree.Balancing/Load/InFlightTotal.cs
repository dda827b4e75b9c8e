namespace LockFree.Balancing.Load;

/// <summary>
/// The number of requests in flight on the pickable endpoints of the current set (plus reservations of placements
/// in progress), kept as one counter so the bounded-load
/// capacity check is O(1) (HAProxy keeps its <c>served</c> total the same way).
/// </summary>
/// <remarks>
/// Shared by every <see cref="EndpointState"/> of one balancer and by every snapshot it publishes,
/// so it survives snapshot swaps. Requests on removed (draining) or weight-0 endpoints are not in it:
/// <see cref="EndpointState.Detach"/> takes them out, and their releases do not return a slot. Only balancers that bound loads keep it: for the others the
/// two extra atomic operations per request would buy nothing.
/// </remarks>
internal sealed class InFlightTotal
{
    private PaddedCounter _value;

    /// <summary>The current total; a plain volatile read.</summary>
    public int Current => Volatile.Read(ref _value.Value);

    /// <summary>Reserves one slot and returns the total including it.</summary>
    public int Reserve() => Interlocked.Increment(ref _value.Value);

    /// <summary>Adds the requests of an endpoint that joined (positive) or left (negative) the pickable set.</summary>
    public void Add(int delta) => Interlocked.Add(ref _value.Value, delta);

    /// <summary>Returns one slot.</summary>
    public void Release() => Interlocked.Decrement(ref _value.Value);
}
