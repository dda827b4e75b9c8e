namespace LockFree.Balancing.KubernetesClient;

/// <summary>
/// A <c>KubernetesClientConfiguration</c> setting that cannot be mapped onto LockFree's watcher options, or whose value
/// is unusable. <see cref="Field"/> names the setting; the message says what is wrong and what is accepted.
/// </summary>
public sealed class KubernetesClientConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KubernetesClientConfigurationException()
        : this("The KubernetesClientConfiguration cannot be mapped.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and what is accepted.</param>
    public KubernetesClientConfigurationException(string message)
        : this(null, message, null)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and what is accepted.</param>
    /// <param name="innerException">The cause.</param>
    public KubernetesClientConfigurationException(string message, Exception? innerException)
        : this(null, message, innerException)
    {
    }

    /// <summary>Creates the exception for one setting.</summary>
    /// <param name="field">The <c>KubernetesClientConfiguration</c> property at fault (for example <c>SkipTlsVerify</c>).</param>
    /// <param name="message">What is wrong and what is accepted.</param>
    /// <param name="innerException">The cause, or <see langword="null"/>.</param>
    public KubernetesClientConfigurationException(string? field, string message, Exception? innerException = null)
        : base(field is null ? message : $"KubernetesClientConfiguration.{field}: {message}", innerException)
    {
        Field = field;
    }

    /// <summary>The <c>KubernetesClientConfiguration</c> property at fault, or <see langword="null"/> when the message names none.</summary>
    public string? Field { get; }
}
