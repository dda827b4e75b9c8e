namespace LockFree.Balancing.Grpc.RingHash;

/// <summary>A <c>ring_hash</c> configuration (service config or <see cref="RingHashOptions"/>) that gRFC A42/A76 rejects.</summary>
public sealed class RingHashConfigurationException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="RingHashConfigurationException"/> class.</summary>
    public RingHashConfigurationException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RingHashConfigurationException"/> class.</summary>
    /// <param name="message">What is wrong and how to fix it.</param>
    public RingHashConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RingHashConfigurationException"/> class.</summary>
    /// <param name="message">What is wrong and how to fix it.</param>
    /// <param name="innerException">The parse error behind it.</param>
    public RingHashConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RingHashConfigurationException"/> class.</summary>
    /// <param name="field">The service-config field at fault (e.g. <c>maxRingSize</c>).</param>
    /// <param name="message">What is wrong and how to fix it.</param>
    public RingHashConfigurationException(string field, string message)
        : base(message)
    {
        Field = field;
    }

    /// <summary>Gets the service-config field at fault, when one is.</summary>
    public string? Field { get; }
}
