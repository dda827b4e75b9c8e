using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace LockFree.Balancing.Kubernetes;

/// <summary>
/// A Kubernetes Service and, optionally, the port wanted from it: what users write as
/// <c>web.shop:http</c> or <c>kubernetes:///web.shop:8080</c>.
/// </summary>
/// <remarks>
/// <para>
/// Accepted forms (see <see cref="AcceptedForms"/>): <c>name</c>, <c>name.ns</c>, <c>name.ns:port</c>,
/// <c>name.ns:portname</c>, <c>name.ns.svc</c>, <c>name.ns.svc.cluster.local</c> (any cluster domain after
/// <c>svc</c>, with an optional trailing dot), each with an optional <c>:port</c>, and the gRPC-style
/// <c>kubernetes:///name[.ns][:port]</c>, <c>kubernetes://ns/name[:port]</c> and <c>kubernetes://name[.ns][:port]/</c>.
/// A form without a namespace takes the default namespace given to the parser.
/// </para>
/// <para>
/// The service name must be a DNS-1035 label and the namespace a DNS-1123 label (lower case, 1–63
/// characters). The port is a number 1–65535 or an IANA service name (the <c>name</c> of a Service port,
/// resolved per EndpointSlice). Instances are immutable and safe to share between threads.
/// </para>
/// </remarks>
public sealed class ServiceReference : IEquatable<ServiceReference>
{
    /// <summary>The namespace used when a reference does not name one.</summary>
    public const string DefaultNamespace = "default";

    /// <summary>The accepted forms, as quoted in every <see cref="ServiceReferenceFormatException"/>.</summary>
    public const string AcceptedForms =
        "Accepted forms: 'name', 'name.namespace', 'name.namespace:port', 'name.namespace:portname', "
        + "'name.namespace.svc[:port]', 'name.namespace.svc.cluster.local[:port]', "
        + "'kubernetes:///name.namespace:port', 'kubernetes:///name:port', 'kubernetes://namespace/name:port'; "
        + "names are lower-case DNS labels, a port is 1-65535 or a port name.";

    private const string Scheme = "kubernetes:";
    private const int MaxLabelLength = 63;
    private const int MaxPortNameLength = 15;

    private static readonly SearchValues<char> WhiteSpace = SearchValues.Create(" \t\r\n\v\f");

    private static readonly SearchValues<char> LabelCharacters =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");

    private ServiceReference(string name, string @namespace, int? port, string? portName)
    {
        Name = name;
        Namespace = @namespace;
        Port = port;
        PortName = portName;
    }

    /// <summary>The Service name (a DNS-1035 label).</summary>
    public string Name { get; }

    /// <summary>The namespace (a DNS-1123 label).</summary>
    public string Namespace { get; }

    /// <summary>The wanted port number, or <see langword="null"/> when the reference names no port or names it.</summary>
    public int? Port { get; }

    /// <summary>The wanted port name, or <see langword="null"/> when the reference names no port or gives a number.</summary>
    public string? PortName { get; }

    /// <summary>Parses a service reference.</summary>
    /// <param name="value">The text, in one of the <see cref="AcceptedForms"/>.</param>
    /// <param name="defaultNamespace">The namespace for forms that do not name one.</param>
    /// <returns>The reference.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> or <paramref name="defaultNamespace"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="defaultNamespace"/> is not a DNS-1123 label.</exception>
    /// <exception cref="ServiceReferenceFormatException">The text is not an accepted form; <see cref="ServiceReferenceFormatException.Error"/> says why.</exception>
    public static ServiceReference Parse(string value, string defaultNamespace = DefaultNamespace)
    {
        ArgumentNullException.ThrowIfNull(value);
        ValidateDefaultNamespace(defaultNamespace);
        if (!TryParseCore(value, defaultNamespace, out ServiceReference? reference, out ServiceReferenceError error, out string? detail))
        {
            throw new ServiceReferenceFormatException(value, error, detail);
        }

        return reference;
    }

    /// <summary>Tries to parse a service reference, taking <see cref="DefaultNamespace"/> for forms without a namespace.</summary>
    /// <param name="value">The text.</param>
    /// <param name="reference">The reference when the text is valid; otherwise <see langword="null"/>.</param>
    /// <returns><see langword="true"/> when the text is valid.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out ServiceReference? reference)
        => TryParse(value, DefaultNamespace, out reference);

    /// <summary>Tries to parse a service reference.</summary>
    /// <param name="value">The text.</param>
    /// <param name="defaultNamespace">The namespace for forms that do not name one.</param>
    /// <param name="reference">The reference when the text is valid; otherwise <see langword="null"/>.</param>
    /// <returns><see langword="true"/> when the text is valid.</returns>
    /// <exception cref="ArgumentException"><paramref name="defaultNamespace"/> is not a DNS-1123 label.</exception>
    public static bool TryParse([NotNullWhen(true)] string? value, string defaultNamespace, [NotNullWhen(true)] out ServiceReference? reference)
    {
        ValidateDefaultNamespace(defaultNamespace);
        if (value is null)
        {
            reference = null;
            return false;
        }

        return TryParseCore(value, defaultNamespace, out reference, out _, out _);
    }

    /// <summary>Creates a reference from its parts.</summary>
    /// <param name="name">The Service name (a DNS-1035 label).</param>
    /// <param name="namespace">The namespace (a DNS-1123 label).</param>
    /// <param name="port">The port number, the port name, or <see langword="null"/> for none.</param>
    /// <returns>The reference.</returns>
    /// <exception cref="ServiceReferenceFormatException">A part is not valid.</exception>
    public static ServiceReference Create(string name, string @namespace = DefaultNamespace, string? port = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(@namespace);
        string text = port is null ? $"{name}.{@namespace}" : $"{name}.{@namespace}:{port}";
        if (name.Contains('.', StringComparison.Ordinal) || @namespace.Contains('.', StringComparison.Ordinal)
            || (port is not null && port.Contains(':', StringComparison.Ordinal)))
        {
            throw new ServiceReferenceFormatException(text, ServiceReferenceError.UnsupportedForm, "a name, namespace or port part contains a separator");
        }

        return Parse(text, @namespace.Length == 0 ? DefaultNamespace : @namespace);
    }

    /// <summary>The canonical form, <c>name.namespace</c> with <c>:port</c> when a port is named; it parses back to an equal reference.</summary>
    /// <returns>The canonical text.</returns>
    public override string ToString()
    {
        if (Port is int number)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{Name}.{Namespace}:{number}");
        }

        return PortName is null ? $"{Name}.{Namespace}" : $"{Name}.{Namespace}:{PortName}";
    }

    /// <inheritdoc/>
    public bool Equals(ServiceReference? other)
        => other is not null
           && string.Equals(Name, other.Name, StringComparison.Ordinal)
           && string.Equals(Namespace, other.Namespace, StringComparison.Ordinal)
           && Port == other.Port
           && string.Equals(PortName, other.PortName, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is ServiceReference other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(
        StringComparer.Ordinal.GetHashCode(Name),
        StringComparer.Ordinal.GetHashCode(Namespace),
        Port,
        PortName is null ? 0 : StringComparer.Ordinal.GetHashCode(PortName));

    private static void ValidateDefaultNamespace(string defaultNamespace)
    {
        ArgumentNullException.ThrowIfNull(defaultNamespace);
        if (!IsDns1123Label(defaultNamespace))
        {
            throw new ArgumentException(
                $"The default namespace '{defaultNamespace}' is not a DNS-1123 label (1-63 lower-case letters, digits and '-', starting and ending with a letter or digit).",
                nameof(defaultNamespace));
        }
    }

    private static bool TryParseCore(
        string value,
        string defaultNamespace,
        [NotNullWhen(true)] out ServiceReference? reference,
        out ServiceReferenceError error,
        [NotNullWhen(false)] out string? detail)
    {
        reference = null;
        ReadOnlySpan<char> text = value.AsSpan();
        if (text.IsWhiteSpace())
        {
            return Fail(ServiceReferenceError.MissingServiceName, "the service name is missing", out error, out detail);
        }

        if (text.ContainsAny(WhiteSpace))
        {
            return Fail(ServiceReferenceError.UnsupportedForm, "it contains white space", out error, out detail);
        }

        ReadOnlySpan<char> explicitNamespace = default;
        bool namespaceFromAuthority = false;
        if (text.Contains("://", StringComparison.Ordinal))
        {
            if (!text.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || !text[Scheme.Length..].StartsWith("//", StringComparison.Ordinal))
            {
                return Fail(ServiceReferenceError.UnsupportedForm, "the only accepted URI scheme is 'kubernetes://'", out error, out detail);
            }

            ReadOnlySpan<char> rest = text[(Scheme.Length + 2)..];
            int slash = rest.IndexOf('/');
            ReadOnlySpan<char> authority = slash < 0 ? rest : rest[..slash];
            ReadOnlySpan<char> path = slash < 0 ? [] : rest[(slash + 1)..];
            if (path.EndsWith('/'))
            {
                path = path[..^1];
            }

            if (path.Contains('/'))
            {
                return Fail(ServiceReferenceError.UnsupportedForm, "the URI has more than one path segment", out error, out detail);
            }

            if (authority.IsEmpty)
            {
                // kubernetes:///target
                text = path;
            }
            else if (path.IsEmpty)
            {
                // kubernetes://target/ (kuberesolver accepts the target in the authority)
                text = authority;
            }
            else
            {
                // kubernetes://namespace/name[:port]
                explicitNamespace = authority;
                namespaceFromAuthority = true;
                text = path;
            }

            if (text.IsEmpty)
            {
                return Fail(ServiceReferenceError.MissingServiceName, "the service name is missing from the URI", out error, out detail);
            }
        }

        ReadOnlySpan<char> host = text;
        ReadOnlySpan<char> portText = default;
        bool hasPort = false;
        int colon = text.IndexOf(':');
        if (colon >= 0)
        {
            host = text[..colon];
            portText = text[(colon + 1)..];
            hasPort = true;
            if (portText.Contains(':'))
            {
                return Fail(ServiceReferenceError.UnsupportedForm, "it has more than one ':'", out error, out detail);
            }
        }

        if (host.Length > 1 && host.EndsWith('.') && host.Contains(".svc", StringComparison.Ordinal))
        {
            host = host[..^1]; // a fully qualified name.ns.svc.cluster.local.
        }

        ReadOnlySpan<char> name;
        ReadOnlySpan<char> ns;
        int firstDot = host.IndexOf('.');
        if (firstDot < 0)
        {
            name = host;
            ns = namespaceFromAuthority ? explicitNamespace : defaultNamespace.AsSpan();
        }
        else
        {
            if (namespaceFromAuthority)
            {
                return Fail(ServiceReferenceError.UnsupportedForm, "'kubernetes://namespace/name' takes a bare service name after the namespace", out error, out detail);
            }

            name = host[..firstDot];
            ReadOnlySpan<char> afterName = host[(firstDot + 1)..];
            int secondDot = afterName.IndexOf('.');
            ns = secondDot < 0 ? afterName : afterName[..secondDot];
            if (secondDot >= 0)
            {
                ReadOnlySpan<char> suffix = afterName[(secondDot + 1)..];
                bool isServiceDomain = suffix.SequenceEqual("svc")
                                       || (suffix.StartsWith("svc.", StringComparison.Ordinal) && IsDomain(suffix[4..]));
                if (!isServiceDomain)
                {
                    return Fail(ServiceReferenceError.UnsupportedForm, "after 'name.namespace' only '.svc' or '.svc.<cluster domain>' may follow", out error, out detail);
                }
            }
        }

        if (name.IsEmpty)
        {
            return Fail(ServiceReferenceError.MissingServiceName, "the service name is missing", out error, out detail);
        }

        if (!IsDns1035Label(name))
        {
            return Fail(ServiceReferenceError.InvalidServiceName, $"the service name '{name}' is not a DNS-1035 label (1-63 lower-case letters, digits and '-', starting with a letter, ending with a letter or digit)", out error, out detail);
        }

        if (!IsDns1123Label(ns))
        {
            return Fail(ServiceReferenceError.InvalidNamespace, ns.IsEmpty
                ? "the namespace is empty"
                : $"the namespace '{ns}' is not a DNS-1123 label (1-63 lower-case letters, digits and '-', starting and ending with a letter or digit)", out error, out detail);
        }

        int? port = null;
        string? portName = null;
        if (hasPort)
        {
            if (portText.IsEmpty)
            {
                return Fail(ServiceReferenceError.InvalidPort, "the port after ':' is empty", out error, out detail);
            }

            if (!portText.ContainsAnyExceptInRange('0', '9'))
            {
                if (portText.Length > 5 || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number is < 1 or > 65535)
                {
                    return Fail(ServiceReferenceError.InvalidPort, $"the port {portText} is not between 1 and 65535", out error, out detail);
                }

                port = number;
            }
            else if (IsIanaServiceName(portText))
            {
                portName = portText.ToString();
            }
            else
            {
                return Fail(ServiceReferenceError.InvalidPort, $"the port '{portText}' is neither a number 1-65535 nor a port name (1-15 lower-case letters, digits and '-', with a letter, no '-' at either end or twice in a row)", out error, out detail);
            }
        }

        reference = new ServiceReference(name.ToString(), ns.SequenceEqual(defaultNamespace) ? defaultNamespace : ns.ToString(), port, portName);
        error = default;
        detail = null;
        return true;
    }

    private static bool Fail(ServiceReferenceError kind, string message, out ServiceReferenceError error, out string detail)
    {
        error = kind;
        detail = message;
        return false;
    }

    /// <summary>RFC 1123 label as Kubernetes validates namespaces: <c>[a-z0-9]([-a-z0-9]*[a-z0-9])?</c>, at most 63.</summary>
    internal static bool IsDns1123Label(ReadOnlySpan<char> label)
        => label.Length is >= 1 and <= MaxLabelLength
           && !label.ContainsAnyExcept(LabelCharacters)
           && label[0] != '-'
           && label[^1] != '-';

    /// <summary>RFC 1035 label as Kubernetes validates Service names: <c>[a-z]([-a-z0-9]*[a-z0-9])?</c>, at most 63.</summary>
    internal static bool IsDns1035Label(ReadOnlySpan<char> label)
        => IsDns1123Label(label) && char.IsAsciiLetterLower(label[0]);

    /// <summary>IANA_SVC_NAME as Kubernetes validates port names: 1-15 of <c>[a-z0-9-]</c>, a letter, no '-' at an end or doubled.</summary>
    internal static bool IsIanaServiceName(ReadOnlySpan<char> name)
        => name.Length is >= 1 and <= MaxPortNameLength
           && !name.ContainsAnyExcept(LabelCharacters)
           && name[0] != '-'
           && name[^1] != '-'
           && !name.Contains("--", StringComparison.Ordinal)
           && name.ContainsAnyInRange('a', 'z');

    private static bool IsDomain(ReadOnlySpan<char> domain)
    {
        if (domain.IsEmpty)
        {
            return false;
        }

        foreach (Range range in domain.Split('.'))
        {
            if (!IsDns1123Label(domain[range]))
            {
                return false;
            }
        }

        return true;
    }
}
