namespace LockFree.Balancing.Kubernetes;

/// <summary>The API server sent a body this library cannot read: invalid JSON, a missing required field, or a truncated event.</summary>
public sealed class InvalidWatchDataException : IOException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public InvalidWatchDataException()
        : base("The Kubernetes API server sent data that is not a valid watch event or list.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong.</param>
    public InvalidWatchDataException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="innerException">The parser's exception.</param>
    public InvalidWatchDataException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
