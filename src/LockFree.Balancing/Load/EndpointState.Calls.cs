namespace LockFree.Balancing.Load;

/// <summary>
/// Call counting for integrations whose transport starts and ends a call separately from the pick (grpc-dotnet's
/// <c>ISubchannelCallTracker</c>): the count is taken when the call starts, not when it is picked, because a pick
/// may be dropped without the call ever starting.
/// </summary>
internal sealed partial class EndpointState
{
    /// <summary>Counts one call in flight on this endpoint and in the balancer total (when kept); pair with <see cref="Release"/> or <see cref="ReleaseUnrecorded"/>.</summary>
    public void AddCall()
    {
        Interlocked.Increment(ref _inFlight.Value);
        _total?.Reserve();
    }

    /// <summary>Undoes one <see cref="AddCall"/> (or a placement's reservation) without reporting an outcome to outlier ejection.</summary>
    public void ReleaseUnrecorded()
    {
        Interlocked.Decrement(ref _inFlight.Value);
        _total?.Release();
    }

    /// <summary>Reports one failure to outlier ejection (when configured) without changing any count.</summary>
    public void RecordFailureOnly() => _ejection?.RecordFailure(this);
}
