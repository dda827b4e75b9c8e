namespace LockFree.Balancing.Kubernetes;

/// <summary>The text is not one of the service reference forms <see cref="ServiceReference.Parse(string, string)"/> accepts.</summary>
/// <remarks>The message names the problem and lists every accepted form.</remarks>
public sealed class ServiceReferenceFormatException : FormatException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public ServiceReferenceFormatException()
        : this(string.Empty, ServiceReferenceError.UnsupportedForm, "the text is not a service reference")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public ServiceReferenceFormatException(string message)
        : base(message)
    {
        Input = string.Empty;
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ServiceReferenceFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        Input = string.Empty;
    }

    /// <summary>Creates the exception for a rejected input.</summary>
    /// <param name="input">The rejected text.</param>
    /// <param name="error">What was wrong.</param>
    /// <param name="detail">A sentence fragment that explains the problem.</param>
    public ServiceReferenceFormatException(string input, ServiceReferenceError error, string detail)
        : base($"'{input}' is not a Kubernetes service reference: {detail}. {ServiceReference.AcceptedForms}")
    {
        Input = input;
        Error = error;
    }

    /// <summary>The rejected text.</summary>
    public string Input { get; }

    /// <summary>What was wrong with <see cref="Input"/>.</summary>
    public ServiceReferenceError Error { get; }
}
