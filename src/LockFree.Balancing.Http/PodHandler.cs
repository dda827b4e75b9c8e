namespace LockFree.Balancing.Http;

/// <summary>One pod's handler, counted: disposed when it is retired and no send is in progress on it.</summary>
internal sealed class PodHandler : IDisposable
{
    private readonly HttpMessageInvoker _invoker;
    private int _users = 1; // the pool's own reference until retired, plus one per send in progress
    private int _retired;
    private volatile bool _warm;

    public PodHandler(HttpMessageHandler handler)
    {
        _invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    /// <summary>True once retired and every send has returned: the handler is disposed.</summary>
    internal bool IsDisposed => Volatile.Read(ref _users) == 0;

    /// <summary>Counts one more send, unless the handler is already disposed.</summary>
    public bool TryEnter()
    {
        int users = Volatile.Read(ref _users);
        while (users > 0)
        {
            int seen = Interlocked.CompareExchange(ref _users, users + 1, users);
            if (seen == users)
            {
                return true;
            }

            users = seen;
        }

        return false;
    }

    /// <summary>True once a send on this handler has completed: the runtime has built its handler chain (see <see cref="PickTagging"/>).</summary>
    public bool IsWarm => _warm;

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        => _invoker.SendAsync(request, cancellationToken);

    /// <summary>A send on this handler completed (with a response or not).</summary>
    public void Warmed() => _warm = true;

    /// <summary>Ends one send (its response headers arrived, or it failed).</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _users) == 0)
        {
            _invoker.Dispose();
        }
    }

    /// <summary>The pod left: disposed now, or when its last send in progress ends.</summary>
    public void Dispose() => Retire();

    /// <summary>The pod left: disposed now, or when its last send in progress ends.</summary>
    public void Retire()
    {
        if (Interlocked.Exchange(ref _retired, 1) == 0)
        {
            Exit();
        }
    }
}
