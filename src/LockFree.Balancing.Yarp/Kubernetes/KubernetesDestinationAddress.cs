using System.Diagnostics.CodeAnalysis;
using LockFree.Balancing.Kubernetes;

namespace LockFree.Balancing.Yarp.Kubernetes;

/// <summary>
/// A destination address that names a Kubernetes Service: <c>k8s://name.namespace[:port][/path]</c> (forwarded over
/// http) or <c>k8s+https://name.namespace[:port][/path]</c> (over https). The port is the Service port's name
/// (<c>:http</c>) or number; without one, the Service's single port. The namespace may be left out
/// (<see cref="KubernetesDestinationOptions.DefaultNamespace"/>), and the long forms
/// <c>name.namespace.svc[.cluster.local]</c> are accepted.
/// </summary>
/// <remarks>Pure parsing; immutable; thread-safe.</remarks>
internal sealed record KubernetesDestinationAddress(ServiceReference Service, string Scheme, string PathAndQuery)
{
    /// <summary>The prefix of forwarding over http.</summary>
    public const string HttpPrefix = "k8s://";

    /// <summary>The prefix of forwarding over https.</summary>
    public const string HttpsPrefix = "k8s+https://";

    /// <summary>The accepted forms, as quoted in errors.</summary>
    public const string AcceptedForms = "'k8s://name.namespace[:port][/path]' (http) or 'k8s+https://name.namespace[:port][/path]' (https), the port being the Service port's name or number";

    /// <summary>True when <paramref name="address"/> uses one of the Kubernetes prefixes.</summary>
    public static bool IsKubernetes(string? address)
        => address is not null && (address.StartsWith(HttpPrefix, StringComparison.OrdinalIgnoreCase) || address.StartsWith(HttpsPrefix, StringComparison.OrdinalIgnoreCase));

    /// <summary>Parses a Kubernetes destination address; the problem, with the accepted forms, on failure.</summary>
    public static bool TryParse(string address, string defaultNamespace, [NotNullWhen(true)] out KubernetesDestinationAddress? parsed, [NotNullWhen(false)] out string? problem)
    {
        parsed = null;
        string scheme;
        string rest;
        if (address.StartsWith(HttpsPrefix, StringComparison.OrdinalIgnoreCase))
        {
            scheme = Uri.UriSchemeHttps;
            rest = address[HttpsPrefix.Length..];
        }
        else if (address.StartsWith(HttpPrefix, StringComparison.OrdinalIgnoreCase))
        {
            scheme = Uri.UriSchemeHttp;
            rest = address[HttpPrefix.Length..];
        }
        else
        {
            problem = $"'{address}' is not a Kubernetes address: expected {AcceptedForms}.";
            return false;
        }

        int slash = rest.IndexOfAny(['/', '?']);
        string authority = slash < 0 ? rest : rest[..slash];
        string path = slash < 0 ? string.Empty : rest[slash..];
        if (authority.Length == 0 || !ServiceReference.TryParse(authority, defaultNamespace, out ServiceReference? service))
        {
            problem = $"'{address}' does not name a Service: '{authority}' is not name[.namespace[.svc[.cluster-domain]]][:port] with lower-case DNS labels; expected {AcceptedForms}.";
            return false;
        }

        parsed = new KubernetesDestinationAddress(service, scheme, path);
        problem = null;
        return true;
    }

    /// <summary>The address of one pod: the scheme, the pod's host and port, and the path of the original address.</summary>
    public string For(Endpoint endpoint)
    {
        string host = endpoint.AddressKind == EndpointAddressKind.IPv6 ? "[" + endpoint.Host + "]" : endpoint.Host;
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Scheme}://{host}:{endpoint.Port}{PathAndQuery}");
    }
}
