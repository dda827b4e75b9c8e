using LockFree.Balancing.Kubernetes;
using Microsoft.Extensions.Options;

namespace LockFree.Balancing.ServiceDiscovery;

/// <summary>Checks <see cref="KubernetesEndpointProviderOptions"/> when the host starts, with messages that name the setting.</summary>
internal sealed class KubernetesEndpointProviderOptionsValidator : IValidateOptions<KubernetesEndpointProviderOptions>
{
    private static readonly TimeSpan MaxInitialSyncTimeout = TimeSpan.FromMinutes(5);

    public ValidateOptionsResult Validate(string? name, KubernetesEndpointProviderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.InitialSyncTimeout < TimeSpan.FromMilliseconds(1) || options.InitialSyncTimeout > MaxInitialSyncTimeout)
        {
            failures.Add($"KubernetesEndpointProviderOptions.InitialSyncTimeout is {options.InitialSyncTimeout}; it must be between 1 ms and {MaxInitialSyncTimeout}.");
        }

        if (options.DefaultNamespace is string ns && !ServiceReference.TryParse("probe." + ns, out _))
        {
            failures.Add($"KubernetesEndpointProviderOptions.DefaultNamespace '{ns}' is not a namespace (a lower-case DNS label).");
        }

        if (options.DefaultPortName is string port && !ServiceReference.TryParse("probe.default:" + port, out _))
        {
            failures.Add($"KubernetesEndpointProviderOptions.DefaultPortName '{port}' is not a Service port name (a lower-case IANA service name of at most 15 characters).");
        }

        foreach (string item in options.Namespaces)
        {
            if (item is null || !ServiceReference.TryParse("probe." + item, out _))
            {
                failures.Add($"KubernetesEndpointProviderOptions.Namespaces holds '{item}', which is not a namespace (a lower-case DNS label).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
