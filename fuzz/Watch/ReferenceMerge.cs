using System.Net;
using System.Net.Sockets;
using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.Fuzz.Watch;

/// <summary>One merged endpoint as the reference computes it.</summary>
internal sealed record RefMerged(string Key, string? Zone, string? NodeName, string[] ForZones, string[] ForNodes);

/// <summary>
/// The merge restated from the EndpointSlice API and the adapter's README, recomputed from scratch every time (no
/// caches): one address family for the whole Service; the port resolved per slice; nil <c>ready</c> is ready, nil
/// <c>serving</c> is <c>ready</c>, nil <c>terminating</c> is false; ready endpoints, or with the fallback on and none
/// ready the serving-and-terminating ones; one endpoint per key, the first in slice-name order winning; key order.
/// </summary>
internal static class ReferenceMerge
{
    public static (string Family, List<RefMerged> Endpoints, bool Fallback) Merge(
        IReadOnlyDictionary<string, RefSlice> slices, ServiceReference service, AddressFamilyPreference preference, bool terminatingFallback)
    {
        (string Family, List<RefMerged> Endpoints, bool Fallback, Dictionary<(string, int), Endpoint> Built) result =
            MergeCore(slices, service, preference, terminatingFallback);
        return (result.Family, result.Endpoints, result.Fallback);
    }

    private static (string Family, List<RefMerged> Endpoints, bool Fallback, Dictionary<(string, int), Endpoint> Built) MergeCore(
        IReadOnlyDictionary<string, RefSlice> slices, ServiceReference service, AddressFamilyPreference preference, bool terminatingFallback)
    {
        var built = new Dictionary<(string Address, int Port), Endpoint>();
        RefSlice[] ordered = [.. slices.Values.OrderBy(s => s.Name, StringComparer.Ordinal)];
        bool v4 = ordered.Any(s => s.AddressType == "IPv4");
        bool v6 = ordered.Any(s => s.AddressType == "IPv6");
        bool fqdn = ordered.Any(s => s.AddressType == "FQDN");
        string? family = preference switch
        {
            AddressFamilyPreference.PreferIPv4 => v4 ? "IPv4" : v6 ? "IPv6" : fqdn ? "FQDN" : null,
            AddressFamilyPreference.PreferIPv6 => v6 ? "IPv6" : v4 ? "IPv4" : fqdn ? "FQDN" : null,
            AddressFamilyPreference.IPv4Only => v4 ? "IPv4" : null,
            AddressFamilyPreference.IPv6Only => v6 ? "IPv6" : null,
            AddressFamilyPreference.Fqdn => fqdn ? "FQDN" : null,
            _ => null,
        };
        if (family is null)
        {
            return ("Unknown", [], false, built);
        }

        var ready = new List<(Endpoint Endpoint, RefEndpoint Source)>();
        var servingTerminating = new List<(Endpoint Endpoint, RefEndpoint Source)>();
        foreach (RefSlice slice in ordered)
        {
            if (slice.AddressType != family || Resolve(slice, service) is not int port)
            {
                continue;
            }

            foreach (RefEndpoint source in slice.Endpoints)
            {
                bool isReady = source.Ready ?? true;
                bool isServing = source.Serving ?? isReady;
                bool isTerminating = source.Terminating ?? false;
                if (source.Address is null || !(isReady || (terminatingFallback && isServing && isTerminating)))
                {
                    continue;
                }

                Endpoint? endpoint = null;
                if (!Matches(source.Address, family))
                {
                    continue;
                }

                if (endpoint is null)
                {
                    try
                    {
                        endpoint = new Endpoint(source.Address, port, 1, source.Zone, source.NodeName);
                    }
                    catch (ArgumentException)
                    {
                        continue; // an address or label the core refuses: skipped, the Service is not failed for it
                    }
                }

                built.TryAdd((source.Address, port), endpoint);
                (isReady ? ready : servingTerminating).Add((endpoint, source));
            }
        }

        bool fallback = ready.Count == 0 && servingTerminating.Count > 0;
        var result = new Dictionary<string, RefMerged>(StringComparer.Ordinal);
        foreach ((Endpoint endpoint, RefEndpoint source) in fallback ? servingTerminating : ready)
        {
            result.TryAdd(endpoint.Key, new RefMerged(endpoint.Key, endpoint.Zone, endpoint.NodeName, Usable(source.ForZones), Usable(source.ForNodes)));
        }

        return (family, [.. result.Values.OrderBy(e => e.Key, StringComparer.Ordinal)], fallback, built);
    }

    // Hints are advisory: a list the API should not send (an empty or over-long name, more than 8 distinct names)
    // is dropped whole, and the endpoint kept.
    private static string[] Usable(string[] hints)
        => hints.Any(h => string.IsNullOrEmpty(h) || h.Length > 253) || hints.Distinct().Count() > Endpoint.MaxHints ? [] : hints;

    private static int? Resolve(RefSlice slice, ServiceReference service)
    {
        if (service.PortName is string name)
        {
            RefPort? named = slice.Ports.FirstOrDefault(p => p.Name == name && p.Number is not null);
            return named?.Number;
        }

        if (service.Port is int wanted)
        {
            return slice.Ports.Length == 0 || slice.Ports.Any(p => p.Number is null || p.Number == wanted) ? wanted : null; // ports: [] = a portless Service: the caller's port
        }

        int[] distinct = [.. slice.Ports.Where(p => p.Number is not null).Select(p => p.Number!.Value).Distinct()];
        return distinct.Length == 1 ? distinct[0] : null;
    }

    private static bool Matches(string address, string family)
    {
        bool isIp = IPAddress.TryParse(address, out IPAddress? ip);
        return family switch
        {
            "IPv4" => isIp && ip!.AddressFamily == AddressFamily.InterNetwork,
            "IPv6" => isIp && ip!.AddressFamily == AddressFamily.InterNetworkV6,
            _ => !isIp,
        };
    }
}
