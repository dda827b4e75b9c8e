namespace LockFree.Balancing.Kubernetes.Watch;

/// <summary>A <c>meta/v1 Status</c>: what the API server says about a failure, in a response body or an ERROR event.</summary>
/// <param name="Code">The HTTP-style code (410 means the resourceVersion is too old); <see langword="null"/> when absent.</param>
/// <param name="Reason">The machine-readable reason (<c>Gone</c>, <c>Expired</c>, <c>Forbidden</c>, ...).</param>
/// <param name="Message">The human-readable message.</param>
internal sealed record ApiStatus(int? Code, string? Reason, string? Message)
{
    /// <summary>The resourceVersion is too old; key on the code, never on the reason (both <c>Gone</c> and <c>Expired</c> occur).</summary>
    public bool IsGone => Code == 410;

    /// <summary>
    /// Not a 410, but the same remedy: the resourceVersion cannot be served (a "Too large resource version" 504 from an
    /// API server whose cache lags, or an <c>Expired</c>/<c>Gone</c> reason under another code). Watching again from
    /// the same version would fail the same way; only a fresh LIST helps.
    /// </summary>
    public bool NeedsRelist => IsGone
        || Reason is "Expired" or "Gone"
        || (Message?.Contains("too large resource version", StringComparison.OrdinalIgnoreCase) ?? false);
}
