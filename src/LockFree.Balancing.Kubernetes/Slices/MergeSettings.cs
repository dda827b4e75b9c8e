namespace LockFree.Balancing.Kubernetes.Slices;

/// <summary>How slices become endpoints.</summary>
/// <param name="Family">Which address family is used.</param>
/// <param name="UseTerminatingWhenNoneReady">When no endpoint is ready, use the serving-and-terminating ones (what kube-proxy does during rollouts).</param>
/// <param name="ServicePortName">
/// The name of the Service port whose number the reference gives, learned from the Service's spec (<c>""</c> for an
/// unnamed port): a slice without that number resolves it by this name, because slice ports are target ports named
/// after their Service ports. <see langword="null"/> when unknown.
/// </param>
internal readonly record struct MergeSettings(AddressFamilyPreference Family, bool UseTerminatingWhenNoneReady, string? ServicePortName = null);
