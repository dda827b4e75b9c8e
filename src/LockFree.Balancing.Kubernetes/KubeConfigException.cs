namespace LockFree.Balancing.Kubernetes;

/// <summary>A kubeconfig file is missing, unreadable or does not describe a usable context; the message names the file and the problem.</summary>
public sealed class KubeConfigException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public KubeConfigException()
        : base("The kubeconfig is not usable.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    public KubeConfigException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public KubeConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for one file.</summary>
    /// <param name="filePath">The kubeconfig file at fault, or <see langword="null"/> when no single file is.</param>
    /// <param name="problem">What is wrong, as a sentence.</param>
    /// <param name="innerException">The cause, if any.</param>
    public KubeConfigException(string? filePath, string problem, Exception? innerException = null)
        : base(filePath is null ? "kubeconfig: " + problem : $"kubeconfig '{filePath}': {problem}", innerException)
    {
        FilePath = filePath;
    }

    /// <summary>The kubeconfig file at fault, when one is.</summary>
    public string? FilePath { get; }
}
