namespace LockFree.Balancing.Kubernetes.Slices;

/// <summary>How slices become endpoints.</summary>
/// <param name="Family">Which address family is used.</param>
/// <param name="UseTerminatingWhenNoneReady">When no endpoint is ready, use the serving-and-terminating ones (what kube-proxy does during rollouts).</param>
internal readonly record struct MergeSettings(AddressFamilyPreference Family, bool UseTerminatingWhenNoneReady);
