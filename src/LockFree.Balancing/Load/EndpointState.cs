namespace LockFree.Balancing.Load;

/// <summary>
/// The mutable, shared half of an endpoint: its in-flight counter. One instance per endpoint key
/// per balancer, reused by every snapshot that contains the key, so the count survives snapshot
/// swaps; a lease holds its own reference, so releasing works even after the endpoint was removed.
/// </summary>
/// <remarks>
/// Concurrency: <see cref="Endpoint"/> is written only by the balancer's serialized writer and
/// read by anyone; the counter is changed only with interlocked operations.
/// </remarks>
internal sealed class EndpointState
{
    private readonly InFlightTotal? _total;
    private PaddedCounter _inFlight;
    private Endpoint _endpoint;

    public EndpointState(Endpoint endpoint, InFlightTotal? total)
    {
        _endpoint = endpoint;
        _total = total;
    }

    /// <summary>The latest attributes published for this key (weight and labels may change, the key never does).</summary>
    public Endpoint Endpoint
    {
        get => Volatile.Read(ref _endpoint);
        set => Volatile.Write(ref _endpoint, value);
    }

    /// <summary>Requests acquired on this endpoint and not yet released.</summary>
    public int InFlight => Volatile.Read(ref _inFlight.Value);

    /// <summary>Counts one more request in flight, unconditionally.</summary>
    public void Add() => Interlocked.Increment(ref _inFlight.Value);

    /// <summary>
    /// Counts one more request in flight only if <paramref name="capacity"/> admits it: the
    /// compare-and-swap makes the bound exact for the capacity read, where a check-then-increment
    /// would let two threads both take the last slot.
    /// </summary>
    public bool TryAddWithin(LoadCapacity capacity)
    {
        int current = Volatile.Read(ref _inFlight.Value);
        while (capacity.Admits(current))
        {
            int seen = Interlocked.CompareExchange(ref _inFlight.Value, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    /// <summary>Ends one request: the endpoint count and, when kept, the balancer total.</summary>
    public void Release()
    {
        Interlocked.Decrement(ref _inFlight.Value);
        _total?.Release();
    }
}
