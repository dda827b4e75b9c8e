namespace LockFree.Balancing.Kubernetes.Sharing;

/// <summary>One set a shared watch published, numbered so a subscriber never goes back to an older one.</summary>
internal sealed record PublishedSet(IReadOnlyList<Endpoint> Endpoints, long Version);
