namespace LockFree.Balancing.Kubernetes.Slices;

/// <summary>One entry of an EndpointSlice's <c>endpoints</c>, reduced to what the balancer needs.</summary>
/// <remarks>
/// Conditions keep the API's three states: <see langword="null"/> is "unknown", which the API asks consumers
/// to read as ready (for <see cref="Ready"/>), as <see cref="Ready"/> (for <see cref="Serving"/>) and as
/// not terminating (for <see cref="Terminating"/>). Immutable once built, but for <see cref="Json"/>, a parse cache
/// that only the watch loop owning the slice state touches.
/// </remarks>
internal sealed class SliceEndpoint
{
    /// <summary>Endpoint objects longer than this are not remembered (they are tokenized on every event).</summary>
    internal const int MaxRememberedJsonBytes = 4096;

    public SliceEndpoint(
        string? address,
        bool? ready,
        bool? serving,
        bool? terminating,
        string? nodeName,
        string? zone,
        IReadOnlyList<string> forZones,
        IReadOnlyList<string> forNodes)
    {
        Address = address;
        Ready = ready;
        Serving = serving;
        Terminating = terminating;
        NodeName = nodeName;
        Zone = zone;
        ForZones = forZones;
        ForNodes = forNodes;
    }

    /// <summary>The first of <c>addresses</c> (all are fungible), or <see langword="null"/> when the list was empty.</summary>
    public string? Address { get; }

    public bool? Ready { get; }

    public bool? Serving { get; }

    public bool? Terminating { get; }

    public string? NodeName { get; }

    public string? Zone { get; }

    /// <summary><c>hints.forZones[].name</c>.</summary>
    public IReadOnlyList<string> ForZones { get; }

    /// <summary><c>hints.forNodes[].name</c>.</summary>
    public IReadOnlyList<string> ForNodes { get; }

    /// <summary>
    /// The exact JSON object this endpoint was last read from, or <see langword="null"/>: the next event's parser steps
    /// over an identical element without tokenizing it (see <c>KubernetesJson.TrySkipKnownEndpoint</c>).
    /// </summary>
    /// <remarks>Costs about as much memory again as the endpoint's JSON; bounded by <see cref="MaxRememberedJsonBytes"/> each.</remarks>
    public byte[]? Json { get; private set; }

    /// <summary>Keeps <paramref name="json"/> as <see cref="Json"/>; allocates only when it differs from what is kept.</summary>
    public void RememberJson(ReadOnlySpan<byte> json)
    {
        if (json.Length > MaxRememberedJsonBytes)
        {
            Json = null;
        }
        else if (Json is null || !json.SequenceEqual(Json))
        {
            Json = json.ToArray();
        }
    }

    /// <summary>True when every field equals the given values (hint lists compared by reference, as the parser reuses them).</summary>
    public bool Matches(
        string? address,
        bool? ready,
        bool? serving,
        bool? terminating,
        string? nodeName,
        string? zone,
        IReadOnlyList<string> forZones,
        IReadOnlyList<string> forNodes)
        => string.Equals(Address, address, StringComparison.Ordinal)
           && Ready == ready
           && Serving == serving
           && Terminating == terminating
           && string.Equals(NodeName, nodeName, StringComparison.Ordinal)
           && string.Equals(Zone, zone, StringComparison.Ordinal)
           && (ReferenceEquals(ForZones, forZones) || (ForZones.Count == 0 && forZones.Count == 0))
           && (ReferenceEquals(ForNodes, forNodes) || (ForNodes.Count == 0 && forNodes.Count == 0));

    /// <summary><c>ready</c> with nil read as ready.</summary>
    public bool IsReady => Ready ?? true;

    /// <summary><c>serving</c> with nil read as <see cref="IsReady"/>.</summary>
    public bool IsServing => Serving ?? IsReady;

    /// <summary><c>terminating</c> with nil read as false.</summary>
    public bool IsTerminating => Terminating ?? false;
}
