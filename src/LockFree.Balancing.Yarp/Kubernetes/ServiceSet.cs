using Microsoft.Extensions.Primitives;

namespace LockFree.Balancing.Yarp.Kubernetes;

/// <summary>
/// One endpoint set of a Service, paired with the change token that fires when the next set replaces it. Immutable once
/// published; <see cref="ServiceSource"/> swaps whole instances.
/// </summary>
/// <remarks>
/// Pairing the set with its own token closes the race between reading a set and registering for its change: YARP
/// registering on the token of a set that was already replaced finds it fired and resolves again at once.
/// </remarks>
#pragma warning disable CA1001 // The token must stay readable after the set is replaced; a CancellationTokenSource without a timer holds nothing to release.
internal sealed class ServiceSet
#pragma warning restore CA1001
{
    private readonly CancellationTokenSource _replaced = new();

    public ServiceSet(Endpoint[] endpoints)
    {
        Endpoints = endpoints;
        ChangeToken = new CancellationChangeToken(_replaced.Token);
    }

    public Endpoint[] Endpoints { get; }

    public IChangeToken ChangeToken { get; }

    /// <summary>Fires <see cref="ChangeToken"/>; its callbacks (YARP's reload) run on the thread pool, never on the watch's delivery.</summary>
    public void MarkReplaced() => _ = _replaced.CancelAsync();
}
