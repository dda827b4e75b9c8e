using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.ServiceDiscovery;

namespace LockFree.Balancing.ServiceDiscovery;

/// <summary>
/// One endpoint set of a Service as ServiceDiscovery endpoints, paired with the change token that fires when the
/// next set replaces it. Immutable once published; the provider swaps whole instances.
/// </summary>
/// <remarks>
/// Pairing the set with its own token closes the race between reading a set and registering for its change: a
/// reader that got this set and registers its token after the next set was published finds the token already
/// fired, and ServiceDiscovery re-resolves at once.
/// </remarks>
#pragma warning disable CA1001 // A CancellationTokenSource without a timer holds nothing to release, and the token must stay
                                // readable (HasChanged, late registrations) after the set is replaced: it is never disposed.
internal sealed class ResolvedSet
#pragma warning restore CA1001
{
    private readonly CancellationTokenSource _replaced = new();

    public ResolvedSet(ServiceEndpoint[] endpoints)
    {
        Endpoints = endpoints;
        ChangeToken = new CancellationChangeToken(_replaced.Token);
    }

    public ServiceEndpoint[] Endpoints { get; }

    public IChangeToken ChangeToken { get; }

    /// <summary>Fires <see cref="ChangeToken"/>: a newer set exists.</summary>
    /// <remarks>
    /// <see cref="IChangeToken.HasChanged"/> turns true before this returns; the registered callbacks (ServiceDiscovery's
    /// re-resolution, an application's own) run on the thread pool, so a slow or throwing callback never holds up or
    /// fails the shared watch's delivery to the other subscribers.
    /// </remarks>
    public void MarkReplaced() => _ = _replaced.CancelAsync();
}
