namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>What one LIST request asked <see cref="FakeCluster"/> for, and where the fake served it from.</summary>
/// <param name="ResourceVersion">The <c>resourceVersion</c> parameter; <see langword="null"/> when absent.</param>
/// <param name="ResourceVersionMatch">The <c>resourceVersionMatch</c> parameter; <see langword="null"/> when absent.</param>
/// <param name="Limit">The <c>limit</c> parameter; <see langword="null"/> when absent.</param>
/// <param name="Continue">The <c>continue</c> token; <see langword="null"/> on a first page.</param>
/// <param name="LabelSelector">The <c>labelSelector</c> parameter.</param>
/// <param name="FromWatchCache">True when the fake's watch cache answered; false when it went to its "etcd".</param>
public sealed record ListQuery(string? ResourceVersion, string? ResourceVersionMatch, int? Limit, string? Continue, string? LabelSelector, bool FromWatchCache);
