using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LockFree.Balancing.Kubernetes.DependencyInjection;

/// <summary>
/// Gives watchers the container's <see cref="ILoggerFactory"/>, its <see cref="IMeterFactory"/> (when one is registered: <c>AddMetrics</c>, which a host has)
/// and, when one is registered, its <see cref="TimeProvider"/>,
/// unless the application set its own on the options (a registered logger factory exists once <c>AddLogging</c> ran; without one, none). Without this the watchers created through DI logged nothing: the
/// options' <see cref="KubernetesWatcherOptions.LoggerFactory"/> is <see langword="null"/> by default.
/// </summary>
internal sealed class ContainerWatcherDefaults(IServiceProvider services) : IPostConfigureOptions<KubernetesWatcherOptions>
{
    public void PostConfigure(string? name, KubernetesWatcherOptions options)
    {
        options.LoggerFactory ??= (ILoggerFactory?)services.GetService(typeof(ILoggerFactory));
        options.MeterFactory ??= (IMeterFactory?)services.GetService(typeof(IMeterFactory));
        if (ReferenceEquals(options.TimeProvider, TimeProvider.System) && services.GetService(typeof(TimeProvider)) is TimeProvider registered)
        {
            options.TimeProvider = registered;
        }
    }
}
