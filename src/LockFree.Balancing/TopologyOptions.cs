namespace LockFree.Balancing;

/// <summary>
/// Topology preference: send requests to endpoints meant for the caller's node or zone, and to the others only
/// when none of those is available or has room. Set <see cref="LoadBalancerOptions.Topology"/> to enable it.
/// </summary>
/// <remarks>
/// <para>
/// Each snapshot computes one <i>local set</i> from the caller's <see cref="LocalNode"/> and
/// <see cref="LocalZone"/>, with its own index (ring, Maglev table, cycle, draw table), so a pick stays
/// O(1) or O(log n). The most specific non-empty match wins:
/// </para>
/// <list type="number">
/// <item><description>
/// With <see cref="LocalNode"/>: the endpoints whose <see cref="Endpoint.NodeHints"/> name it; when no endpoint
/// carries node hints (and <see cref="RequireHints"/> is off), the endpoints whose <see cref="Endpoint.NodeName"/> is it.
/// </description></item>
/// <item><description>
/// Else, with <see cref="LocalZone"/>: when every endpoint carries zone hints, those whose
/// <see cref="Endpoint.ZoneHints"/> name it (the EndpointSlice controller's allocation). When only some do, the
/// hints are ignored, as kube-proxy ignores them: the controller is mid-change. When none does (and
/// <see cref="RequireHints"/> is off), the endpoints whose <see cref="Endpoint.Zone"/> is it.
/// </description></item>
/// <item><description>Else no preference: every endpoint is local.</description></item>
/// </list>
/// <para>
/// A pick tries the local set first and falls back to every endpoint when the local set has none available (all
/// ejected) or, with bounded loads, none with room under the cap computed over the whole set; such a request's
/// lease reports <see cref="PickOutcome.Remote"/>. Weight-0 endpoints never count as local.
/// </para>
/// <para>
/// Zone hints are allocated by Kubernetes in proportion to each zone's capacity; zone labels are not. Preferring a
/// zone by label sends all of a zone's callers to that zone's endpoints however few they are: pair it with bounded
/// loads, or require hints.
/// </para>
/// </remarks>
public sealed class TopologyOptions
{
    /// <summary>The zone the caller runs in (for example from the node's <c>topology.kubernetes.io/zone</c> label), or <see langword="null"/>.</summary>
    public string? LocalZone { get; set; }

    /// <summary>The node the caller runs on (for example from the downward API's <c>spec.nodeName</c>), or <see langword="null"/>.</summary>
    public string? LocalNode { get; set; }

    /// <summary>
    /// <see langword="true"/>: prefer only what EndpointSlice hints say (Kubernetes' own behaviour);
    /// <see langword="false"/> (the default): when no endpoint carries hints, match zone and node labels instead.
    /// </summary>
    public bool RequireHints { get; set; }

    internal void Validate(string parameterName)
    {
        if (string.IsNullOrEmpty(LocalZone) && string.IsNullOrEmpty(LocalNode))
        {
            throw new ArgumentException(
                "Topology needs LocalZone, LocalNode or both: the caller's zone or node is what it prefers. Leave Topology null for no preference.",
                parameterName);
        }
    }

    /// <summary>The local set among <paramref name="pickable"/>, ascending; <see langword="null"/> when there is no preference or every pickable endpoint is local.</summary>
    internal int[]? SelectLocal(Endpoint[] endpoints, int[] pickable)
    {
        int[]? local = null;
        if (!string.IsNullOrEmpty(LocalNode))
        {
            local = Select(endpoints, pickable, LocalNode, static e => e.NodeHints, static e => e.NodeName, requireAllHinted: false);
        }

        if (local is not { Length: > 0 } && !string.IsNullOrEmpty(LocalZone))
        {
            local = Select(endpoints, pickable, LocalZone, static e => e.ZoneHints, static e => e.Zone, requireAllHinted: true);
        }

        return local is { Length: > 0 } && local.Length < pickable.Length ? local : null;
    }

    private int[]? Select(
        Endpoint[] endpoints,
        int[] pickable,
        string wanted,
        Func<Endpoint, IReadOnlyList<string>> hintsOf,
        Func<Endpoint, string?> labelOf,
        bool requireAllHinted)
    {
        int hinted = 0;
        foreach (int index in pickable)
        {
            hinted += hintsOf(endpoints[index]).Count > 0 ? 1 : 0;
        }

        if (hinted > 0)
        {
            if (requireAllHinted && hinted < pickable.Length)
            {
                return null;
            }

            return Array.FindAll(pickable, index => Contains(hintsOf(endpoints[index]), wanted));
        }

        return RequireHints ? null : Array.FindAll(pickable, index => string.Equals(labelOf(endpoints[index]), wanted, StringComparison.Ordinal));
    }

    private static bool Contains(IReadOnlyList<string> hints, string wanted)
    {
        foreach (string hint in hints)
        {
            if (string.Equals(hint, wanted, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
