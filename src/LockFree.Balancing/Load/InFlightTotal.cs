namespace LockFree.Balancing.Load;

/// <summary>
/// The balancer-wide number of requests in flight, kept as one counter so the bounded-load
/// capacity check is O(1) (HAProxy keeps its <c>served</c> total the same way).
/// </summary>
/// <remarks>
/// Shared by every <see cref="EndpointState"/> of one balancer and by every snapshot it publishes,
/// so it survives snapshot swaps. Only balancers that bound loads keep it: for the others the
/// two extra atomic operations per request would buy nothing.
/// </remarks>
internal sealed class InFlightTotal
{
    private PaddedCounter _value;

    /// <summary>The current total; a plain volatile read.</summary>
    public int Current => Volatile.Read(ref _value.Value);

    /// <summary>Reserves one slot and returns the total including it.</summary>
    public int Reserve() => Interlocked.Increment(ref _value.Value);

    /// <summary>Returns one slot.</summary>
    public void Release() => Interlocked.Decrement(ref _value.Value);
}
