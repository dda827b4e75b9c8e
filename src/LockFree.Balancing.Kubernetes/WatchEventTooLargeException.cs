namespace LockFree.Balancing.Kubernetes;

/// <summary>
/// One watch event (or one LIST page) is larger than the configured limit. The stream is abandoned and the
/// state rebuilt from a fresh LIST; memory never grows past the limit.
/// </summary>
public sealed class WatchEventTooLargeException : IOException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public WatchEventTooLargeException()
        : base("A Kubernetes watch event is larger than the configured limit.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong.</param>
    public WatchEventTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="innerException">The cause.</param>
    public WatchEventTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a limit.</summary>
    /// <param name="limitBytes">The configured limit in bytes.</param>
    /// <param name="what">What exceeded it ("watch event", "list page").</param>
    public WatchEventTooLargeException(int limitBytes, string what)
        : base($"A {what} from the Kubernetes API is larger than the configured limit of {limitBytes} bytes; it was abandoned without reading further. Raise the limit in the watcher options if such objects are expected.")
    {
        LimitBytes = limitBytes;
    }

    /// <summary>The configured limit in bytes.</summary>
    public int LimitBytes { get; }
}
