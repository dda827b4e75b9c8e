namespace LockFree.Balancing;

/// <summary>
/// Thrown by <see cref="LoadBalancer.Pick()"/> and <see cref="LoadBalancer.Acquire()"/> when the
/// balancer has no endpoint that may receive a request: the set is empty or every endpoint has
/// weight 0, or every endpoint is ejected; <see cref="Reason"/> says which. The <c>Try</c> variants
/// return <see langword="false"/> instead.
/// </summary>
public sealed class NoEndpointsException : InvalidOperationException
{
    /// <summary>Creates the exception for a reason, with a message that states it.</summary>
    /// <param name="reason">Why no endpoint could take the request.</param>
    public NoEndpointsException(NoEndpointsReason reason)
        : base(MessageFor(reason))
        => Reason = reason;

    /// <summary>Creates the exception with the default message.</summary>
    public NoEndpointsException()
        : base("No endpoint is available: the balancer's endpoint set is empty or every endpoint has weight 0.")
    {
    }

    /// <summary>Why no endpoint could take the request; <see cref="NoEndpointsReason.NoEndpoints"/> unless the constructor was given one.</summary>
    public NoEndpointsReason Reason { get; }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was being picked for, and why nothing was available.</param>
    public NoEndpointsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    /// <param name="message">What was being picked for, and why nothing was available.</param>
    /// <param name="innerException">The cause.</param>
    public NoEndpointsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    private static string MessageFor(NoEndpointsReason reason) => reason switch
    {
        NoEndpointsReason.AllEjected => "No endpoint is available: every endpoint of the balancer is ejected by outlier detection (consecutive failures); ejections end by themselves.",
        _ => "No endpoint is available: the balancer's endpoint set is empty or every endpoint has weight 0.",
    };
}
