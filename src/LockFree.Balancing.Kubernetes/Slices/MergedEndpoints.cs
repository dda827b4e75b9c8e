namespace LockFree.Balancing.Kubernetes.Slices;

/// <summary>The result of merging every slice of a Service: the balancer's next set and what was learned on the way.</summary>
internal sealed class MergedEndpoints
{
    public static readonly MergedEndpoints Empty = new([], SliceAddressType.Unknown, usedTerminatingFallback: false, portDiagnostic: null);

    public MergedEndpoints(
        IReadOnlyList<Endpoint> endpoints,
        SliceAddressType family,
        bool usedTerminatingFallback,
        string? portDiagnostic,
        bool portUnresolvedEverywhere = false)
    {
        PortUnresolvedEverywhere = portUnresolvedEverywhere;
        PortDiagnostic = portDiagnostic;
        Endpoints = endpoints;
        Family = family;
        UsedTerminatingFallback = usedTerminatingFallback;
    }

    /// <summary>Deduplicated endpoints in ordinal <see cref="Endpoint.Key"/> order, with zone, node and topology hints.</summary>
    public IReadOnlyList<Endpoint> Endpoints { get; }

    /// <summary>The address family the endpoints came from; <see cref="SliceAddressType.Unknown"/> when no slice qualified.</summary>
    public SliceAddressType Family { get; }

    /// <summary>Why some or all slices of the chosen family contributed nothing because of the port; <see langword="null"/> when all resolved it.</summary>
    public string? PortDiagnostic { get; }

    /// <summary>True when slices with endpoints exist but none of them resolves the wanted port.</summary>
    public bool PortUnresolvedEverywhere { get; }

    /// <summary>True when no endpoint was ready and serving-and-terminating endpoints were used instead.</summary>
    public bool UsedTerminatingFallback { get; }
}
