using Microsoft.Extensions.Primitives;

namespace LockFree.Balancing.Kubernetes.Sharing;

/// <summary>
/// One endpoint set as an integration shows it (YARP destinations' <see cref="Endpoint"/>s, ServiceDiscovery's
/// <c>ServiceEndpoint</c>s), paired with the change token that fires when the next set replaces it. Immutable once
/// published; the owner swaps whole instances with one <see cref="Interlocked.Exchange{T}(ref T, T)"/> and then calls
/// <see cref="MarkReplaced"/> on the previous one.
/// </summary>
/// <typeparam name="T">The element type of the set.</typeparam>
/// <remarks>
/// Pairing the set with its own token closes the race between reading a set and registering for its change: a reader
/// that got this set and registers on its token after the next set was published finds the token already fired, and
/// re-resolves at once. Shared by the YARP destination resolver and the ServiceDiscovery provider (both see it through
/// InternalsVisibleTo), so neither keeps its own copy.
/// </remarks>
#pragma warning disable CA1001 // A CancellationTokenSource without a timer holds nothing to release, and the token must stay
                                // readable (HasChanged, late registrations) after the set is replaced: it is never disposed.
internal sealed class ReplaceableSet<T>
#pragma warning restore CA1001
{
    private readonly CancellationTokenSource _replaced = new();

    /// <summary>Wraps <paramref name="items"/> (taken as is, not copied: the caller gives up the array).</summary>
    public ReplaceableSet(T[] items)
    {
        ArgumentNullException.ThrowIfNull(items);
        Items = items;
        ChangeToken = new CancellationChangeToken(_replaced.Token);
    }

    /// <summary>The set; never written after construction.</summary>
    public T[] Items { get; }

    /// <summary>Fires when <see cref="MarkReplaced"/> is called: a newer set exists.</summary>
    public IChangeToken ChangeToken { get; }

    /// <summary>Fires <see cref="ChangeToken"/>: a newer set exists. Calling it again does nothing.</summary>
    /// <remarks>
    /// <see cref="IChangeToken.HasChanged"/> turns true before this returns; the registered callbacks (YARP's reload,
    /// ServiceDiscovery's re-resolution, an application's own) run on the thread pool, so a slow or throwing callback
    /// never holds up or fails the shared watch's delivery to the other subscribers.
    /// </remarks>
    public void MarkReplaced() => _ = _replaced.CancelAsync();
}
