namespace LockFree.Balancing.Load;

/// <summary>What one attempt to place and count a request on a snapshot came to.</summary>
internal enum PlacementResult
{
    /// <summary>The request is counted on an endpoint; the lease holds it.</summary>
    Placed = 0,

    /// <summary>The scope has no endpoint with weight above 0.</summary>
    NoEndpoints = 1,

    /// <summary>Every endpoint of the scope is ejected.</summary>
    AllEjected = 2,

    /// <summary>Every available endpoint is at its bounded-load capacity (only a scope that may give up early: the local one).</summary>
    AllOverCapacity = 3,

    /// <summary>
    /// The chosen endpoint's state was detached (removed or reweighted to 0) after the snapshot was read: nothing was
    /// counted, and the caller retries on the current snapshot, which a writer has published since.
    /// </summary>
    Stale = 4,
}
