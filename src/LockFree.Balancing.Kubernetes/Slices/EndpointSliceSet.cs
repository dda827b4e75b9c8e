using System.Net;
using System.Net.Sockets;

namespace LockFree.Balancing.Kubernetes.Slices;

/// <summary>
/// The EndpointSlices of one Service, keyed by slice name, and the merge that turns them into one
/// deduplicated endpoint set.
/// </summary>
/// <remarks>
/// Not thread-safe: one watch loop owns an instance. A DELETED slice removes only its own endpoints;
/// an endpoint present in two slices (it happens while the controller moves it) counts once.
/// </remarks>
internal sealed class EndpointSliceSet
{
    private readonly Dictionary<string, EndpointSlice> _slices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EndpointSlice>.AlternateLookup<ReadOnlySpan<char>> _byName;

    // PERF: endpoints built by the previous merge, by (address, port). An unchanged endpoint is reused,
    // so a MODIFIED event that changes one pod does not rebuild (and re-canonicalize) the others.
    private Dictionary<(string Address, int Port), Endpoint> _built = new();

    public EndpointSliceSet()
    {
        _byName = _slices.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _slices.Count;

    public IEnumerable<EndpointSlice> Slices => _slices.Values;

    /// <summary>Finds a slice by name without allocating the name.</summary>
    public bool TryGet(ReadOnlySpan<char> name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EndpointSlice? slice)
        => _byName.TryGetValue(name, out slice);

    /// <summary>Adds or replaces one slice (ADDED, MODIFIED).</summary>
    public void Upsert(EndpointSlice slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        _slices[slice.Name] = slice;
    }

    /// <summary>Removes one slice (DELETED); true when it was present.</summary>
    public bool Remove(string name) => _slices.Remove(name);

    /// <summary>The strongest over-capacity mark among the held (legacy, synthetic) slices.</summary>
    public OverCapacity OverCapacity
    {
        get
        {
            OverCapacity strongest = OverCapacity.None;
            foreach (EndpointSlice slice in _slices.Values)
            {
                strongest = slice.OverCapacity > strongest ? slice.OverCapacity : strongest;
            }

            return strongest;
        }
    }

    /// <summary>Replaces every slice (a fresh LIST).</summary>
    public void ReplaceAll(IEnumerable<EndpointSlice> slices)
    {
        ArgumentNullException.ThrowIfNull(slices);
        _slices.Clear();
        foreach (EndpointSlice slice in slices)
        {
            _slices[slice.Name] = slice;
        }
    }

    /// <summary>Merges every slice into the endpoint set for <paramref name="service"/>'s port.</summary>
    public MergedEndpoints Merge(ServiceReference service, MergeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (_slices.Count == 0)
        {
            _built.Clear();
            return MergedEndpoints.Empty;
        }

        // Step 1 – a stable order, so that "first slice wins" on duplicates does not depend on arrival order.
        EndpointSlice[] ordered = [.. _slices.Values];
        Array.Sort(ordered, static (a, b) => string.CompareOrdinal(a.Name, b.Name));

        // Step 2 – one family, chosen from the slices present.
        SliceAddressType family = ChooseFamily(ordered, settings.Family);
        if (family == SliceAddressType.Unknown)
        {
            _built.Clear();
            return MergedEndpoints.Empty;
        }

        // Step 3 – candidates: endpoints of that family whose slice resolves the wanted port.
        var ready = new List<Endpoint>();
        var servingTerminating = new List<Endpoint>();
        var built = new Dictionary<(string Address, int Port), Endpoint>(_built.Count);
        int familySlices = 0;
        int unresolved = 0;
        foreach (EndpointSlice slice in ordered)
        {
            if (slice.AddressType != family)
            {
                continue;
            }

            familySlices += slice.Endpoints.Count > 0 ? 1 : 0;
            if (ResolvePort(slice, service, settings.ServicePortName) is not int port)
            {
                unresolved += slice.Endpoints.Count > 0 ? 1 : 0;
                continue;
            }

            foreach (SliceEndpoint source in slice.Endpoints)
            {
                bool isReady = source.IsReady;
                bool isFallback = !isReady && settings.UseTerminatingWhenNoneReady && source.IsServing && source.IsTerminating;
                if ((!isReady && !isFallback) || source.Address is null)
                {
                    continue;
                }

                if (!TryBuild(source, port, family, built, out Endpoint? endpoint))
                {
                    continue;
                }

                (isReady ? ready : servingTerminating).Add(endpoint);
            }
        }

        _built = built;

        // Step 4 – ready endpoints, or (opt-in) the serving-and-terminating ones when none is ready.
        bool fallback = ready.Count == 0 && servingTerminating.Count > 0;
        List<Endpoint> chosen = fallback ? servingTerminating : ready;

        // Step 5 – dedupe by key, first slice (in name order) wins; then key order.
        var byKey = new Dictionary<string, Endpoint>(chosen.Count, StringComparer.Ordinal);
        foreach (Endpoint endpoint in chosen)
        {
            byKey.TryAdd(endpoint.Key, endpoint);
        }

        var endpoints = new Endpoint[byKey.Count];
        byKey.Values.CopyTo(endpoints, 0);
        Array.Sort(endpoints, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        string? diagnostic = unresolved == 0 ? null : PortDiagnostic(ordered, family, service, unresolved, familySlices);
        return new MergedEndpoints(endpoints, family, fallback, diagnostic, portUnresolvedEverywhere: unresolved > 0 && unresolved == familySlices);
    }

    /// <summary>
    /// The port an endpoint of <paramref name="slice"/> serves <paramref name="service"/>'s wanted port on,
    /// or <see langword="null"/> when the slice does not have it. Resolved per slice: one port name can map to
    /// different numbers in different slices.
    /// </summary>
    /// <param name="slice">The slice.</param>
    /// <param name="service">The reference with the wanted port.</param>
    /// <param name="servicePortName">For a numeric port: the name of the Service port with that number, from the
    /// Service's spec, used when the slice does not list the number (slice ports are target ports).</param>
    internal static int? ResolvePort(EndpointSlice slice, ServiceReference service, string? servicePortName = null)
    {
        IReadOnlyList<SlicePort> ports = slice.Ports;
        if (service.PortName is string wantedName)
        {
            foreach (SlicePort port in ports)
            {
                if (string.Equals(port.Name, wantedName, StringComparison.Ordinal) && port.Number is int number)
                {
                    return number;
                }
            }

            return null;
        }

        if (service.Port is int wanted)
        {
            if (ports.Count == 0)
            {
                // "ports: []": the Service defines no ports (a headless Service without ports); the caller's number is the port.
                return wanted;
            }

            foreach (SlicePort port in ports)
            {
                // A nil port number means "all ports" in the API.
                if (port.Number is null || port.Number == wanted)
                {
                    return wanted;
                }
            }

            if (servicePortName is not null)
            {
                // A Service port (80) whose target port (8080, or a named container port) is what the slice lists,
                // under the Service port's name.
                foreach (SlicePort port in ports)
                {
                    if (string.Equals(port.Name ?? string.Empty, servicePortName, StringComparison.Ordinal) && port.Number is int number)
                    {
                        return number;
                    }
                }
            }

            return null;
        }

        // No port asked for: only an unambiguous slice (one distinct number) has an answer.
        int? only = null;
        foreach (SlicePort port in ports)
        {
            if (port.Number is not int number)
            {
                continue;
            }

            if (only is int previous && previous != number)
            {
                return null;
            }

            only = number;
        }

        return only;
    }

    /// <summary>Says which port was wanted, what the slices offer, and how many slices could not serve it.</summary>
    private static string PortDiagnostic(EndpointSlice[] ordered, SliceAddressType family, ServiceReference service, int unresolved, int familySlices)
    {
        var offered = new SortedSet<string>(StringComparer.Ordinal);
        foreach (EndpointSlice slice in ordered)
        {
            if (slice.AddressType != family)
            {
                continue;
            }

            foreach (SlicePort port in slice.Ports)
            {
                offered.Add(string.IsNullOrEmpty(port.Name)
                    ? port.Number?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(all ports)"
                    : $"{port.Name}={port.Number?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(all ports)"}");
            }
        }

        string wanted = service.Port is int number
            ? $"port {number.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
            : service.PortName is string name ? $"a port named '{name}'" : "a single port (none was given)";
        string seen = offered.Count == 0
            ? "none (the Service defines no ports, as a headless Service without ports does: give the port number, e.g. "
              + service.Name + "." + service.Namespace + ":8080)"
            : string.Join(", ", offered);
        string scope = unresolved == familySlices ? "no EndpointSlice" : $"{unresolved} of {familySlices} EndpointSlices do not";
        return unresolved == familySlices
            ? $"{scope} of {service.Name}.{service.Namespace} offers {wanted}; ports offered: {seen}. Their endpoints are left out."
            : $"{scope} offer {wanted} for {service.Name}.{service.Namespace}; ports offered: {seen}. Their endpoints are left out.";
    }

    internal static SliceAddressType ChooseFamily(IReadOnlyList<EndpointSlice> slices, AddressFamilyPreference preference)
    {
        bool hasV4 = false, hasV6 = false, hasFqdn = false;
        foreach (EndpointSlice slice in slices)
        {
            hasV4 |= slice.AddressType == SliceAddressType.IPv4;
            hasV6 |= slice.AddressType == SliceAddressType.IPv6;
            hasFqdn |= slice.AddressType == SliceAddressType.Fqdn;
        }

        SliceAddressType fqdnOrNone = hasFqdn ? SliceAddressType.Fqdn : SliceAddressType.Unknown;
        return preference switch
        {
            AddressFamilyPreference.PreferIPv4 => hasV4 ? SliceAddressType.IPv4 : hasV6 ? SliceAddressType.IPv6 : fqdnOrNone,
            AddressFamilyPreference.PreferIPv6 => hasV6 ? SliceAddressType.IPv6 : hasV4 ? SliceAddressType.IPv4 : fqdnOrNone,
            AddressFamilyPreference.IPv4Only => hasV4 ? SliceAddressType.IPv4 : SliceAddressType.Unknown,
            AddressFamilyPreference.IPv6Only => hasV6 ? SliceAddressType.IPv6 : SliceAddressType.Unknown,
            AddressFamilyPreference.Fqdn => fqdnOrNone,
            _ => SliceAddressType.Unknown,
        };
    }

    /// <summary>True when both lists hold the same endpoints with the same attributes, in the same order.</summary>
    internal static bool SameEndpoints(IReadOnlyList<Endpoint> a, IReadOnlyList<Endpoint> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (int i = 0; i < a.Count; i++)
        {
            Endpoint x = a[i];
            Endpoint y = b[i];
            if (!ReferenceEquals(x, y) && !x.HasSameAttributes(y))
            {
                return false;
            }
        }

        return true;
    }

    private bool TryBuild(
        SliceEndpoint source,
        int port,
        SliceAddressType family,
        Dictionary<(string Address, int Port), Endpoint> built,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Endpoint? endpoint)
    {
        string address = source.Address!;

        // The family check comes before the cache: an address built for one family (10.0.0.1 from an IPv4 slice)
        // must not survive into a merge that chose another (an FQDN slice may hold the same text).
        if (!AddressMatchesFamily(address, family))
        {
            endpoint = null;
            return false; // an address the API should not have sent; skip it rather than fail the Service
        }

        if ((built.TryGetValue((address, port), out endpoint) || _built.TryGetValue((address, port), out endpoint))
            && string.Equals(endpoint.Zone, string.IsNullOrEmpty(source.Zone) ? null : source.Zone, StringComparison.Ordinal)
            && string.Equals(endpoint.NodeName, string.IsNullOrEmpty(source.NodeName) ? null : source.NodeName, StringComparison.Ordinal)
            && SameHints(endpoint.ZoneHints, UsableHints(source.ForZones))
            && SameHints(endpoint.NodeHints, UsableHints(source.ForNodes)))
        {
            built.TryAdd((address, port), endpoint);
            return true;
        }

        endpoint = null;
        try
        {
            endpoint = new Endpoint(address, port, weight: 1, source.Zone, source.NodeName, UsableHints(source.ForZones), UsableHints(source.ForNodes));
        }
        catch (ArgumentException)
        {
            return false; // an address or label the core refuses: skip this endpoint rather than fail the Service
        }

        built.TryAdd((address, port), endpoint);
        return true;
    }

    /// <summary>
    /// The hints the core accepts: hints are advisory, so a list the API should not have sent (an empty name, more
    /// than <see cref="Endpoint.MaxHints"/> distinct names, a name over 253 characters) is dropped as a whole
    /// rather than costing the endpoint itself.
    /// </summary>
    internal static IReadOnlyList<string> UsableHints(IReadOnlyList<string> raw)
    {
        if (raw.Count == 0)
        {
            return raw;
        }

        int distinct = 0;
        for (int i = 0; i < raw.Count; i++)
        {
            string name = raw[i];
            if (string.IsNullOrEmpty(name) || name.Length > 253)
            {
                return [];
            }

            bool seen = false;
            for (int j = 0; j < i && !seen; j++)
            {
                seen = string.Equals(raw[j], name, StringComparison.Ordinal);
            }

            distinct += seen ? 0 : 1;
        }

        return distinct <= Endpoint.MaxHints ? raw : [];
    }

    /// <summary>
    /// True when the endpoint's hints (normalized by <see cref="Endpoint"/>: ordinal order, no duplicates) are the
    /// same set as the slice's raw list. PERF: compares in place, so reusing an unchanged endpoint allocates nothing;
    /// the lists hold at most 8 names.
    /// </summary>
    private static bool SameHints(IReadOnlyList<string> normalized, IReadOnlyList<string> raw)
    {
        if (raw.Count < normalized.Count)
        {
            return false;
        }

        for (int i = 0; i < raw.Count; i++)
        {
            if (!Contains(normalized, raw[i]))
            {
                return false;
            }
        }

        for (int i = 0; i < normalized.Count; i++)
        {
            if (!Contains(raw, normalized[i]))
            {
                return false;
            }
        }

        return true;

        static bool Contains(IReadOnlyList<string> list, string value)
        {
            for (int i = 0; i < list.Count; i++)
            {
                if (string.Equals(list[i], value, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private static bool AddressMatchesFamily(string address, SliceAddressType family) => family switch
    {
        SliceAddressType.IPv4 => IPAddress.TryParse(address, out IPAddress? v4) && v4.AddressFamily == AddressFamily.InterNetwork,
        SliceAddressType.IPv6 => IPAddress.TryParse(address, out IPAddress? v6) && v6.AddressFamily == AddressFamily.InterNetworkV6,
        SliceAddressType.Fqdn => !IPAddress.TryParse(address, out _),
        _ => false,
    };
}
