using Microsoft.Extensions.Options;

namespace LockFree.Balancing.Kubernetes.DependencyInjection;

/// <summary>
/// The watcher's own checks (<see cref="KubernetesWatcherOptions"/>' validation) run when the host starts, so a bad API
/// server address or a negative timeout stops start-up with its message instead of failing the first watch.
/// </summary>
internal sealed class KubernetesWatcherOptionsValidator : IValidateOptions<KubernetesWatcherOptions>
{
    public ValidateOptionsResult Validate(string? name, KubernetesWatcherOptions options)
    {
        try
        {
            _ = options.Validated();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail($"KubernetesWatcherOptions: {ex.Message}");
        }
    }
}
