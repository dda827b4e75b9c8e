namespace LockFree.Balancing.Kubernetes.Watch;

/// <summary>
/// A watch stream's read-idle deadline: <see cref="Token"/> is cancelled once no byte has arrived for the idle timeout
/// (a half-open connection, a server that stopped sending bookmarks). Each read that returns data calls
/// <see cref="Touch"/>; the timer, when it fires, looks at the last arrival and re-arms for the rest of the timeout.
/// </summary>
/// <remarks>
/// <para>
/// A check that itself runs late, because the process was stalled (its thread pool starved, its CPU taken), looks once
/// more after a quarter of the timeout before it declares the stream dead. Bytes that arrived during the stall may be
/// queued behind the same stall: without the second look a stalled but healthy watch would be cut and resumed, which
/// costs a reconnect and, on a loaded node, a burst of them. A stream that is really silent is cut at most a quarter
/// of the timeout later than it would have been.
/// </para>
/// <para>
/// PERF: a read records one timestamp; the timer is changed only when it fires, not on every chunk (the former
/// <c>CancelAfter</c> per read changed it, under the timer queue's lock, for each chunk of a busy stream).
/// </para>
/// </remarks>
internal sealed class IdleDeadline : IDisposable
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _secondLook;
    private readonly CancellationTokenSource _expired = new();
    private readonly ITimer _timer;
    private long _lastArrival;
    // When the timer was armed to fire (a timestamp) and whether this silence had its second look: written by Start,
    // then only by the timer's callback, which runs one at a time (a one-shot timer re-armed from inside it).
    private long _checkDue;
    private bool _secondLookTaken;
    private bool _started;
    private int _disposed;

    /// <param name="time">The clock (the watcher's <see cref="TimeProvider"/>).</param>
    /// <param name="timeout">How long the stream may be silent.</param>
    public IdleDeadline(TimeProvider time, TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _time = time;
        _timeout = timeout;
        _secondLook = timeout / 4;
        _timer = time.CreateTimer(static state => ((IdleDeadline)state!).Check(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Cancelled when the stream has been silent for the timeout.</summary>
    public CancellationToken Token => _expired.Token;

    /// <summary>True once the deadline passed.</summary>
    public bool Expired => _expired.IsCancellationRequested;

    /// <summary>Starts the clock (the stream is open): the first byte is due within the timeout from now.</summary>
    public void Start()
    {
        if (_started)
        {
            return;
        }

        _started = true;
        long now = _time.GetTimestamp();
        Volatile.Write(ref _lastArrival, now);
        Arm(_timeout, now);
    }

    /// <summary>Bytes arrived: the stream is alive now.</summary>
    public void Touch() => Volatile.Write(ref _lastArrival, _time.GetTimestamp());

    /// <summary>Stops the timer; the token is not cancelled by it any more. Safe to call twice.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _timer.Dispose();
        _expired.Dispose();
    }

    // Runs on the timer only, one call at a time (the timer is one-shot and re-armed here).
    private void Check()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        // Step 1 – bytes arrived within the timeout: re-arm for the rest of it.
        long now = _time.GetTimestamp();
        TimeSpan silent = _time.GetElapsedTime(Volatile.Read(ref _lastArrival), now);
        if (silent < _timeout)
        {
            _secondLookTaken = false;
            Arm(_timeout - silent, now);
            return;
        }

        // Step 2 – silent past the timeout; if this check ran late, the process was stalled: look once more.
        TimeSpan late = _time.GetElapsedTime(_checkDue, now);
        if (late > _secondLook && !_secondLookTaken)
        {
            _secondLookTaken = true;
            Arm(_secondLook, now);
            return;
        }

        try
        {
            _expired.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed while this check ran: the watch is over anyway.
        }
        catch (AggregateException)
        {
            // A registration threw; every registration still ran and the token is cancelled. Nothing may escape a timer.
        }
    }

    private void Arm(TimeSpan due, long now)
    {
        _checkDue = now + (long)(due.TotalSeconds * _time.TimestampFrequency);
        try
        {
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: nothing left to watch.
        }
    }
}
