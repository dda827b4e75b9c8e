namespace LockFree.Balancing.Kubernetes;

/// <summary>One failed call to the Kubernetes API (the original endpoints library's <c>SyncError</c>).</summary>
/// <remarks>Immutable. Never carries the bearer token.</remarks>
public sealed class SyncError
{
    /// <summary>Creates an error record.</summary>
    /// <param name="url">The request URL.</param>
    /// <param name="statusCode">The HTTP status code, or the code of an in-stream ERROR Status; <see langword="null"/> when no response arrived.</param>
    /// <param name="message">What went wrong, in words.</param>
    /// <param name="reason">The Status <c>reason</c> when the server sent one.</param>
    /// <param name="time">When it happened.</param>
    public SyncError(Uri url, int? statusCode, string message, string? reason, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(message);
        Url = url;
        StatusCode = statusCode;
        Message = message;
        Reason = reason;
        Time = time;
    }

    /// <summary>The request URL.</summary>
    public Uri Url { get; }

    /// <summary>The HTTP status code, or the code of an in-stream ERROR Status; <see langword="null"/> when no response arrived.</summary>
    public int? StatusCode { get; }

    /// <summary>What went wrong, in words.</summary>
    public string Message { get; }

    /// <summary>The Status <c>reason</c> (<c>Gone</c>, <c>Expired</c>, <c>Forbidden</c>, ...) when the server sent one.</summary>
    public string? Reason { get; }

    /// <summary>When it happened.</summary>
    public DateTimeOffset Time { get; }

    /// <summary>A one-line description: status code, URL and message.</summary>
    /// <returns>The description.</returns>
    public override string ToString()
        => StatusCode is int code ? $"{code} from {Url}: {Message}" : $"{Url}: {Message}";
}
