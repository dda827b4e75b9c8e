namespace LockFree.Balancing;

/// <summary>Waiting for endpoints and for changes of the set, instead of polling <see cref="Version"/>; disposal.</summary>
/// <remarks>
/// Control plane only: waiters are registered and completed under their own lock (<c>_waitGate</c>), taken by a
/// waiting caller, by the writer once per published snapshot, by a cancellation and by <see cref="Dispose()"/>. Picks
/// never touch it, and nothing on the pick path reads or writes a waiter.
/// </remarks>
public abstract partial class LoadBalancer : IDisposable
{
    private readonly Lock _waitGate = new();

    // Guarded by _waitGate: waiters not yet satisfied by a published snapshot, and whether Dispose ran.
    private List<SetWaiter>? _waiters;
    private bool _disposed;

    /// <summary>
    /// Waits until the set holds an endpoint that can be picked (weight above 0), for example at start-up before the
    /// first endpoints arrive from service discovery.
    /// </summary>
    /// <param name="cancellationToken">Ends the wait: the task is then canceled with this token.</param>
    /// <returns>
    /// The first view with an endpoint to pick: completed at once (allocation-free) when the current set has one,
    /// otherwise when an update publishes such a set.
    /// </returns>
    /// <exception cref="ObjectDisposedException">The balancer was disposed, before the call or while it waited (the task faults).</exception>
    /// <exception cref="OperationCanceledException">The token was canceled before an endpoint arrived (the task is canceled).</exception>
    /// <remarks>
    /// Outlier ejection is not considered: ejections end by themselves, and a pick made while every endpoint is
    /// ejected fails with <see cref="NoEndpointsReason.AllEjected"/>. Continuations run asynchronously, never on
    /// the thread that published the set. A canceled wait leaves nothing registered.
    /// </remarks>
    public ValueTask<EndpointSetView> WaitForEndpointsAsync(CancellationToken cancellationToken = default)
    {
        BalancerSnapshot snapshot = Volatile.Read(ref _snapshot);
        return snapshot.Pickable.Length > 0 && !Volatile.Read(ref _disposed)
            ? new ValueTask<EndpointSetView>(snapshot.View)
            : Wait(afterVersion: long.MinValue, needsPickable: true, cancellationToken);
    }

    /// <summary>
    /// Waits until the set's version is above <paramref name="afterVersion"/>: pass the <see cref="EndpointSetView.Version"/>
    /// of the view you last handled to be told of the next change.
    /// </summary>
    /// <param name="afterVersion">The version already seen; any value (a version below the current one returns at once).</param>
    /// <param name="cancellationToken">Ends the wait: the task is then canceled with this token.</param>
    /// <returns>
    /// The first view with a version above <paramref name="afterVersion"/>: completed at once (allocation-free) when the
    /// current set is already newer. Versions may be skipped: several updates between two waits are seen as one change.
    /// </returns>
    /// <exception cref="ObjectDisposedException">The balancer was disposed, before the call or while it waited (the task faults).</exception>
    /// <exception cref="OperationCanceledException">The token was canceled before a change (the task is canceled).</exception>
    /// <remarks>
    /// An update that leaves the set as it was publishes nothing and completes no wait. Continuations run
    /// asynchronously, never on the thread that published the set. A canceled wait leaves nothing registered.
    /// </remarks>
    public ValueTask<EndpointSetView> WaitForChangeAsync(long afterVersion, CancellationToken cancellationToken = default)
    {
        BalancerSnapshot snapshot = Volatile.Read(ref _snapshot);
        return snapshot.Version > afterVersion && !Volatile.Read(ref _disposed)
            ? new ValueTask<EndpointSetView>(snapshot.View)
            : Wait(afterVersion, needsPickable: false, cancellationToken);
    }

    /// <summary>
    /// Ends the balancer's control plane: pending <see cref="WaitForEndpointsAsync"/> and <see cref="WaitForChangeAsync"/>
    /// calls fault with <see cref="ObjectDisposedException"/>, and later waits and updates throw it. Calling it again
    /// does nothing.
    /// </summary>
    /// <remarks>
    /// Picks and acquires keep working on the last published set (they check nothing, to stay free on the hot path),
    /// and leases taken before still release their counts.
    /// </remarks>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Faults the pending waits and refuses later waits and updates; see <see cref="Dispose()"/>.</summary>
    /// <param name="disposing"><see langword="true"/> when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        List<SetWaiter>? pending;
        lock (_waitGate)
        {
            if (_disposed)
            {
                return;
            }

            Volatile.Write(ref _disposed, true);
            pending = _waiters;
            _waiters = null;
        }

        if (pending is not null)
        {
            foreach (SetWaiter waiter in pending)
            {
                waiter.Fail(Disposed());
            }
        }
    }

    /// <summary>Waiters registered and not yet completed, canceled or faulted; for tests (no leak).</summary>
    internal int PendingWaiters
    {
        get
        {
            lock (_waitGate)
            {
                return _waiters?.Count ?? 0;
            }
        }
    }

    /// <summary>Writer only (under <c>_writerGate</c>), after publishing <paramref name="snapshot"/>: completes the waits it satisfies.</summary>
    private void CompleteWaiters(BalancerSnapshot snapshot)
    {
        List<SetWaiter>? satisfied = null;
        lock (_waitGate)
        {
            if (_waiters is not { Count: > 0 } waiters)
            {
                return;
            }

            for (int i = waiters.Count - 1; i >= 0; i--)
            {
                if (waiters[i].IsSatisfiedBy(snapshot))
                {
                    (satisfied ??= []).Add(waiters[i]);
                    waiters.RemoveAt(i);
                }
            }
        }

        // Outside the lock; the continuations are queued (RunContinuationsAsynchronously), not run on this thread.
        if (satisfied is not null)
        {
            EndpointSetView view = snapshot.View;
            foreach (SetWaiter waiter in satisfied)
            {
                waiter.Succeed(view);
            }
        }
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> after <see cref="Dispose()"/>; for the update methods.</summary>
    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed))
        {
            throw Disposed();
        }
    }

    private ObjectDisposedException Disposed()
        => new(GetType().Name, "The load balancer was disposed: it publishes no more endpoint sets, so no wait for endpoints or for a change can complete, and updates are refused.");

    private ValueTask<EndpointSetView> Wait(long afterVersion, bool needsPickable, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<EndpointSetView>(cancellationToken);
        }

        SetWaiter waiter = new(this, afterVersion, needsPickable);
        lock (_waitGate)
        {
            if (_disposed)
            {
                return ValueTask.FromException<EndpointSetView>(Disposed());
            }

            // Again under the lock: the writer publishes the snapshot before it takes this lock to complete waiters,
            // so a snapshot published after this read finds the waiter in the list.
            BalancerSnapshot snapshot = Volatile.Read(ref _snapshot);
            if (waiter.IsSatisfiedBy(snapshot))
            {
                return new ValueTask<EndpointSetView>(snapshot.View);
            }

            (_waiters ??= []).Add(waiter);
        }

        waiter.Watch(cancellationToken);
        return new ValueTask<EndpointSetView>(waiter.Task);
    }

    private void Forget(SetWaiter waiter)
    {
        lock (_waitGate)
        {
            _waiters?.Remove(waiter);
        }
    }

    /// <summary>One pending wait: its condition, its task, and its cancellation registration.</summary>
    private sealed class SetWaiter(LoadBalancer owner, long afterVersion, bool needsPickable)
        : TaskCompletionSource<EndpointSetView>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        // The registration is stored after the waiter joined the list, so the thread completing the task may run
        // before it is stored; this lock makes exactly one of the two dispose it.
        private readonly Lock _registrationGate = new();
        private CancellationTokenRegistration _registration;

        public bool IsSatisfiedBy(BalancerSnapshot snapshot)
            => snapshot.Version > afterVersion && (!needsPickable || snapshot.Pickable.Length > 0);

        /// <summary>Registers for cancellation after the waiter joined the list (a token already canceled runs the callback at once).</summary>
        public void Watch(CancellationToken cancellationToken)
        {
            if (!cancellationToken.CanBeCanceled)
            {
                return;
            }

            CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((SetWaiter)state!).Cancel(token),
                this);
            bool completed;
            lock (_registrationGate)
            {
                _registration = registration;
                completed = Task.IsCompleted;
            }

            // Completed before the registration was stored: the completer found none to dispose.
            if (completed)
            {
                registration.Dispose();
            }
        }

        public void Succeed(EndpointSetView view)
        {
            if (TrySetResult(view))
            {
                ReleaseRegistration();
            }
        }

        public void Fail(Exception exception)
        {
            if (TrySetException(exception))
            {
                ReleaseRegistration();
            }
        }

        private void ReleaseRegistration()
        {
            CancellationTokenRegistration registration;
            lock (_registrationGate)
            {
                registration = _registration;
                _registration = default;
            }

            registration.Dispose();
        }

        private void Cancel(CancellationToken token)
        {
            // Out of the list first, so a canceled wait leaves nothing registered whatever completes the task.
            owner.Forget(this);
            TrySetCanceled(token);
        }
    }
}
