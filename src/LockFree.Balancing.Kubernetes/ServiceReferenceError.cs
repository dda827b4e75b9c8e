namespace LockFree.Balancing.Kubernetes;

/// <summary>Why a text was rejected as a <see cref="ServiceReference"/>.</summary>
public enum ServiceReferenceError
{
    /// <summary>The text does not match any accepted form (for example another URI scheme or too many dots).</summary>
    UnsupportedForm,

    /// <summary>The service name is missing or blank (the original endpoints library's <c>ErrMissingServiceName</c>).</summary>
    MissingServiceName,

    /// <summary>The service name is not a DNS-1035 label.</summary>
    InvalidServiceName,

    /// <summary>The namespace is missing where the form requires one, or is not a DNS-1123 label.</summary>
    InvalidNamespace,

    /// <summary>The port is neither a number 1–65535 nor an IANA service name.</summary>
    InvalidPort,
}
