namespace LockFree.Balancing.Kubernetes.Slices;

/// <summary>The result of merging every slice of a Service: the balancer's next set and what was learned on the way.</summary>
internal sealed class MergedEndpoints
{
    public static readonly MergedEndpoints Empty = new([], new Dictionary<string, EndpointHints>(StringComparer.Ordinal), SliceAddressType.Unknown, usedTerminatingFallback: false);

    public MergedEndpoints(
        IReadOnlyList<Endpoint> endpoints,
        IReadOnlyDictionary<string, EndpointHints> hints,
        SliceAddressType family,
        bool usedTerminatingFallback)
    {
        Endpoints = endpoints;
        Hints = hints;
        Family = family;
        UsedTerminatingFallback = usedTerminatingFallback;
    }

    /// <summary>Deduplicated endpoints in ordinal <see cref="Endpoint.Key"/> order.</summary>
    public IReadOnlyList<Endpoint> Endpoints { get; }

    /// <summary>Topology hints by <see cref="Endpoint.Key"/>, for endpoints that carry any.</summary>
    public IReadOnlyDictionary<string, EndpointHints> Hints { get; }

    /// <summary>The address family the endpoints came from; <see cref="SliceAddressType.Unknown"/> when no slice qualified.</summary>
    public SliceAddressType Family { get; }

    /// <summary>True when no endpoint was ready and serving-and-terminating endpoints were used instead.</summary>
    public bool UsedTerminatingFallback { get; }
}
