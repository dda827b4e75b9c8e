using System.Net;
using LockFree.Balancing.Kubernetes;
using Microsoft.Extensions.ServiceDiscovery;

namespace LockFree.Balancing.ServiceDiscovery;

/// <summary>
/// Decides whether a ServiceDiscovery query names a Kubernetes Service and, if so, which Service and port. Pure: no
/// I/O, no state beyond the settings it was built with; safe to share between threads.
/// </summary>
internal sealed class ServiceNameMapper
{
    private readonly string _defaultNamespace;
    private readonly string? _defaultPortName;
    private readonly HashSet<string> _namespaces;

    public ServiceNameMapper(string defaultNamespace, string? defaultPortName, IEnumerable<string> namespaces)
    {
        _defaultNamespace = defaultNamespace;
        _defaultPortName = defaultPortName;
        _namespaces = new HashSet<string>(namespaces, StringComparer.Ordinal);
        if (_namespaces.Count > 0)
        {
            _namespaces.Add(defaultNamespace);
        }
    }

    public string DefaultNamespace => _defaultNamespace;

    /// <summary>Maps <paramref name="query"/> to a Service and port; <see langword="null"/> with a reason when the name is left to other providers.</summary>
    public ServiceReference? TryMap(ServiceEndpointQuery query, out string? passReason)
    {
        string host = query.ServiceName;
        if (host.Length == 0)
        {
            passReason = "the name has no host";
            return null;
        }

        // IP literals (IPv6 arrives bracketed from the URI) and loopback names are never Services.
        if (IPAddress.TryParse(host.Trim('[', ']'), out _))
        {
            passReason = "the name is an IP address";
            return null;
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            passReason = "the name is localhost";
            return null;
        }

        // Accepted: name, name.ns, name.ns.svc, name.ns.svc.<cluster domain>. Anything else (api.github.com: three labels
        // without svc; upper case or underscores; too long) fails to parse and passes.
        if (host.Contains(':', StringComparison.Ordinal)
            || !ServiceReference.TryParse(host, _defaultNamespace, out ServiceReference? service))
        {
            passReason = "the name is not name, name.namespace or name.namespace.svc[.cluster-domain]";
            return null;
        }

        if (_namespaces.Count > 0 && CountLabels(host) == 2 && !_namespaces.Contains(service.Namespace))
        {
            passReason = $"the namespace '{service.Namespace}' is not one of the configured namespaces";
            return null;
        }

        string? port = query.EndpointName ?? _defaultPortName;
        if (port is null)
        {
            passReason = null;
            return service;
        }

        try
        {
            passReason = null;
            return ServiceReference.Create(service.Name, service.Namespace, port);
        }
        catch (ServiceReferenceFormatException ex)
        {
            passReason = $"the endpoint name '{port}' is not a Service port name ({ex.Error})";
            return null;
        }
    }

    private static int CountLabels(string host) => host.TrimEnd('.').Count(static c => c == '.') + 1;
}
