namespace LockFree.Balancing.Load;

/// <summary>
/// Call counting for integrations whose transport starts and ends a call apart from the pick (grpc-dotnet's
/// <c>ISubchannelCallTracker</c>): a call that starts must count even when its endpoint left the set meanwhile
/// (a detached state), and a reservation that is given back reports no outcome to outlier ejection.
/// </summary>
/// <remarks>Same counter-word rules as the rest of the type: the total holds the requests of attached states only.</remarks>
internal sealed partial class EndpointState
{
    /// <summary>
    /// Counts one call in flight, detached or not (the call is already on its way to this endpoint); pair with
    /// <see cref="Release"/> or <see cref="ReleaseUnrecorded"/>.
    /// </summary>
    public void AddCall()
    {
        // Step 1 – the total first, as a placement does: a Detach after step 2 takes this call out with the rest.
        _total?.Reserve();
        // Step 2 – the count, whatever the detached flag says.
        int current = Volatile.Read(ref _inFlight.Value);
        while (true)
        {
            int seen = Interlocked.CompareExchange(ref _inFlight.Value, current + 1, current);
            if (seen == current)
            {
                break;
            }

            current = seen;
        }

        // Step 3 – a detached state's calls are not in the total (an Attach after step 2 counted this one in).
        if ((current & DetachedFlag) != 0)
        {
            _total?.Release();
        }
    }

    /// <summary>
    /// Undoes one <see cref="AddCall"/> or one placement's reservation like <see cref="Release"/> (never below 0, the
    /// total only while attached), without reporting an outcome to outlier ejection.
    /// </summary>
    public void ReleaseUnrecorded() => TryReleaseCount();

    /// <summary>Reports one failure to outlier ejection (when configured) without changing any count.</summary>
    public void RecordFailureOnly() => _ejection?.RecordFailure(this);

    /// <summary>
    /// Reports one call's outcome to outlier ejection (when configured) as <see cref="Release"/> would, without changing
    /// any count: the call stays counted (its response body is still being read).
    /// </summary>
    public void RecordOutcomeOnly(bool failed)
    {
        if (_ejection is null)
        {
            return;
        }

        if (failed)
        {
            _ejection.RecordFailure(this);
        }
        else
        {
            OutlierDetector.RecordSuccess(this);
        }
    }
}
