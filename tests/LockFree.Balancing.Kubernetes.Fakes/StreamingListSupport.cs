namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>How the fake server answers a streaming list (<c>watch=true&amp;sendInitialEvents=true</c>).</summary>
public enum StreamingListSupport
{
    /// <summary>As Kubernetes 1.27+ with the WatchList feature: ADDED for every slice of the list, then the initial-events-end bookmark.</summary>
    Supported,

    /// <summary>422 Invalid, as a server that knows the parameter but has the feature off.</summary>
    Rejected422,

    /// <summary>400 BadRequest.</summary>
    Rejected400,

    /// <summary>An old server that ignores the parameter: synthetic ADDED events, but never the bookmark.</summary>
    IgnoresParameter,
}
