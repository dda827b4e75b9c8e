using LockFree.Balancing.Load;

namespace LockFree.Balancing;

/// <summary>
/// One request placed on an endpoint: the endpoint to send it to, and the obligation to
/// release its in-flight count. Dispose it when the request completes (the seed's Get/Put pair).
/// </summary>
/// <remarks>
/// <para>
/// A lease is a struct so that acquiring allocates nothing. Disposing a lease variable releases
/// the count once; disposing the same variable again does nothing. Copies of a lease share the one
/// release: dispose exactly one of them (for example, keep the lease in one field or local and
/// pass the <see cref="Endpoint"/> around instead). Do not keep a lease in a <see langword="readonly"/>
/// field or pass it as an <see langword="in"/> parameter: C# disposes a defensive copy there.
/// </para>
/// <para>
/// A duplicate release (a copy disposed too, or two threads disposing one variable at once) cannot drive
/// the count below 0: a release that finds it at 0 is refused and counted in
/// <see cref="EndpointStatus.IgnoredReleases"/>. While other requests are in flight on the endpoint a
/// duplicate still takes one of their counts early (the struct copies cannot be told apart), so a
/// non-zero <see cref="EndpointStatus.IgnoredReleases"/> means the caller's lease handling needs fixing.
/// </para>
/// <para>
/// The release goes to the counter the lease was taken from, so it is correct even when the
/// endpoint was removed or the balancer published new snapshots in the meantime.
/// </para>
/// </remarks>
public partial struct EndpointLease : IDisposable
{
    private readonly Endpoint? _endpoint;
    private readonly PickOutcome _outcome;
    private EndpointState? _state;

    internal EndpointLease(Endpoint endpoint, EndpointState state, PickOutcome outcome)
    {
        _endpoint = endpoint;
        _state = state;
        _outcome = outcome;
    }

    /// <summary>The endpoint the request was placed on.</summary>
    /// <exception cref="InvalidOperationException">The lease is <see langword="default"/>: no acquire produced it.</exception>
    public readonly Endpoint Endpoint
        => _endpoint ?? throw new InvalidOperationException("This lease is default: it was not produced by a successful acquire and holds no endpoint.");

    /// <summary>How the request was placed: on the picker's first choice, elsewhere because that one was ejected or full, or on the fallback.</summary>
    /// <remarks>Stays readable after the lease is disposed; <see cref="PickOutcome.Home"/> for a <see langword="default"/> lease.</remarks>
    public readonly PickOutcome Outcome => _outcome;

    /// <summary><see langword="true"/> from a successful acquire until this variable is disposed.</summary>
    public readonly bool IsHeld => _state is not null;

    /// <summary>
    /// Records a load the endpoint reported about itself in its response (for example CPU utilization or queue length,
    /// from a header), for pickers configured with <see cref="LoadMeasure.Reported"/>: O(1), straight to the counter
    /// this lease holds, where <see cref="LoadBalancer.ReportLoad"/> finds the endpoint by key. Read the report before
    /// ending the lease with <see cref="Dispose"/> or <see cref="Fail"/>; report failures by ending it with <see cref="Fail"/>.
    /// </summary>
    /// <param name="load">The reported load: finite and not negative; lower is less loaded.</param>
    /// <returns>
    /// <see langword="true"/> when recorded; <see langword="false"/> when this lease variable no longer holds its
    /// request (ended, or <see langword="default"/>): the report is dropped, and nothing else changes.
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException">The load is negative, NaN or infinite.</exception>
    /// <remarks>
    /// Lock-free and allocation-free; reporting again replaces the earlier report. It changes no count, so a copy of
    /// the lease that reports after the original ended still records on the same endpoint, harmlessly. The report
    /// lands on this lease's balancer: a lease from another balancer (an affinity picker, say) does not feed a
    /// power-of-two-choices balancer's measure.
    /// </remarks>
    public readonly bool ReportLoad(double load)
    {
        if (!double.IsFinite(load) || load < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(load), load, "A reported load must be a finite number of at least 0.");
        }

        EndpointState? state = _state;
        if (state is null)
        {
            return false;
        }

        state.ReportLoad(load);
        return true;
    }

    /// <summary>The same lease reporting another outcome; only for a lease not yet handed to the caller.</summary>
    internal readonly EndpointLease WithOutcome(PickOutcome outcome) => new(_endpoint!, _state!, outcome);

    /// <summary>Ends the request as completed: releases the in-flight count once; later calls on the same variable do nothing.</summary>
    public void Dispose()
    {
        EndpointState? state = _state;
        _state = null;
        state?.Release(failed: false);
    }

    /// <summary>
    /// Ends the request as failed (connection refused or reset, timeout, a 5xx you count as the endpoint's
    /// fault): releases the count like <see cref="Dispose"/> and, with outlier ejection configured, counts a
    /// failure toward ejecting the endpoint. Later calls, and a later <see cref="Dispose"/>, do nothing.
    /// </summary>
    public void Fail()
    {
        EndpointState? state = _state;
        _state = null;
        state?.Release(failed: true);
    }
}
