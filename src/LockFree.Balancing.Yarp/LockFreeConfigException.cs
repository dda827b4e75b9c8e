namespace LockFree.Balancing.Yarp;

/// <summary>
/// A cluster's configuration cannot be used by a LockFree policy or the Kubernetes destination resolver: a metadata
/// value that does not parse, a key the policy does not read, a destination address that is not an endpoint. The
/// message names the cluster (when known), the setting, the value and what is accepted. Thrown while YARP loads its
/// configuration, which reports it as a configuration error.
/// </summary>
public sealed class LockFreeConfigException : Exception
{
    /// <summary>Creates an exception without a message.</summary>
    public LockFreeConfigException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What was wrong and what is accepted.</param>
    public LockFreeConfigException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    /// <param name="message">What was wrong and what is accepted.</param>
    /// <param name="innerException">The cause.</param>
    public LockFreeConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal LockFreeConfigException(string? clusterId, string setting, string message)
        : base(clusterId is null ? message : $"Cluster '{clusterId}': {message}")
    {
        ClusterId = clusterId;
        Setting = setting;
    }

    /// <summary>The cluster whose configuration is wrong, when known.</summary>
    public string? ClusterId { get; }

    /// <summary>The metadata key or setting that is wrong (<c>LockFree.HashKey</c>, <c>Address</c>, ...), when known.</summary>
    public string? Setting { get; }
}
