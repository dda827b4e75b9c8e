using LockFree.Balancing.Kubernetes;
using Microsoft.Extensions.Options;

namespace LockFree.Balancing.Yarp.Kubernetes;

/// <summary>Checks <see cref="KubernetesDestinationOptions"/> when the host starts, with messages that name the setting.</summary>
internal sealed class KubernetesDestinationOptionsValidator : IValidateOptions<KubernetesDestinationOptions>
{
    private static readonly TimeSpan MaxInitialSyncTimeout = TimeSpan.FromMinutes(5);

    public ValidateOptionsResult Validate(string? name, KubernetesDestinationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.InitialSyncTimeout < TimeSpan.FromMilliseconds(1) || options.InitialSyncTimeout > MaxInitialSyncTimeout)
        {
            failures.Add($"KubernetesDestinationOptions.InitialSyncTimeout is {options.InitialSyncTimeout}; it must be between 1 ms and {MaxInitialSyncTimeout}.");
        }

        if (options.DefaultNamespace is string ns && !ServiceReference.TryParse("probe." + ns, out _))
        {
            failures.Add($"KubernetesDestinationOptions.DefaultNamespace '{ns}' is not a namespace (a lower-case DNS label).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
