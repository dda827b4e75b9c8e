namespace LockFree.Balancing.Kubernetes.Watch;

/// <summary>The <c>type</c> of one watch event.</summary>
internal enum WatchEventType
{
    /// <summary>A type this library does not know; ignored.</summary>
    Unknown,

    /// <summary><c>ADDED</c>.</summary>
    Added,

    /// <summary><c>MODIFIED</c>.</summary>
    Modified,

    /// <summary><c>DELETED</c>.</summary>
    Deleted,

    /// <summary><c>BOOKMARK</c>: only <c>metadata.resourceVersion</c> is meaningful.</summary>
    Bookmark,

    /// <summary><c>ERROR</c>: the object is a <c>Status</c>.</summary>
    Error,
}
