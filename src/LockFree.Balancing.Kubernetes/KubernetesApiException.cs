namespace LockFree.Balancing.Kubernetes;

/// <summary>A call to the Kubernetes API failed; <see cref="Error"/> says where and why.</summary>
public sealed class KubernetesApiException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public KubernetesApiException()
        : base("A call to the Kubernetes API failed.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    public KubernetesApiException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public KubernetesApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a recorded error.</summary>
    /// <param name="error">The failed call.</param>
    /// <param name="innerException">The cause, if any.</param>
    public KubernetesApiException(SyncError error, Exception? innerException = null)
        : base(error?.ToString(), innerException)
    {
        ArgumentNullException.ThrowIfNull(error);
        Error = error;
    }

    /// <summary>The delay the server asked for with <c>Retry-After</c> (429, 503), when it sent one.</summary>
    internal TimeSpan? RetryAfter { get; init; }

    /// <summary>The failed call, when known.</summary>
    public SyncError? Error { get; }

    /// <summary>The HTTP (or Status) code, when a response arrived.</summary>
    public int? StatusCode => Error?.StatusCode;
}
