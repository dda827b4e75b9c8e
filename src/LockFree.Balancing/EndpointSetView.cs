namespace LockFree.Balancing;

/// <summary>
/// One version of a balancer's endpoint set: the endpoints and the version they belong to, read together from one
/// snapshot (<see cref="LoadBalancer.View"/>). Reading <see cref="LoadBalancer.Endpoints"/> and
/// <see cref="LoadBalancer.Version"/> one after the other may pair a set with the version of the next one.
/// </summary>
/// <remarks>Immutable; creating and copying it allocates nothing.</remarks>
public readonly struct EndpointSetView
{
    private readonly IReadOnlyList<Endpoint>? _endpoints;

    internal EndpointSetView(long version, IReadOnlyList<Endpoint> endpoints, bool hasPickable)
    {
        Version = version;
        _endpoints = endpoints;
        HasPickableEndpoints = hasPickable;
    }

    /// <summary>The version of the set: 0 before the first update, then one more with every update that changed it.</summary>
    public long Version { get; }

    /// <summary>The endpoints of that version in ordinal key order (empty for a <see langword="default"/> view).</summary>
    public IReadOnlyList<Endpoint> Endpoints => _endpoints ?? [];

    /// <summary>
    /// <see langword="true"/> when at least one endpoint has a weight above 0, i.e. a pick can choose one (unless
    /// outlier ejection keeps every one out for now).
    /// </summary>
    public bool HasPickableEndpoints { get; }
}
