using LockFree.Balancing.Http;
using LockFree.Balancing.Http.DependencyInjection;
using LockFree.Balancing.Kubernetes.Sharing;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Finds the balancing set behind a named <c>HttpClient</c>.</summary>
public static class KubernetesBalancingServiceCollectionExtensions
{
    /// <summary>
    /// The watch registry shared with every other integration (<c>AddKubernetesWatchRegistry</c>, in the adapter
    /// package), then the per-client balancing sets and their options' validation. Idempotent.
    /// </summary>
    internal static IServiceCollection AddKubernetesBalancingCore(this IServiceCollection services)
    {
        services.AddLogging();
        services.AddMetrics(); // IMeterFactory: the meter is the container's, disposed with it
        services.AddKubernetesWatchRegistry();
        services.TryAddSingleton(sp => new KubernetesBalancingProvider(
            sp.GetRequiredService<KubernetesWatchRegistry>(),
            sp.GetRequiredService<IOptionsMonitor<KubernetesBalancingOptions>>(),
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetService<IMeterFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KubernetesBalancingOptions>, KubernetesBalancingOptionsValidator>());
        return services;
    }

    /// <summary>
    /// The balancing set behind the named client registered with <c>AddKubernetesBalancing</c>, e.g. to wait for the
    /// first sync at startup with <see cref="KubernetesBalancing.WaitForEndpointsAsync"/>.
    /// </summary>
    /// <param name="services">The service provider.</param>
    /// <param name="clientName">The <c>HttpClient</c> name (for a typed client, the type's name).</param>
    /// <returns>The balancing set; the same object the client's handlers use.</returns>
    /// <exception cref="InvalidOperationException"><c>AddKubernetesBalancing</c> was not called.</exception>
    /// <exception cref="OptionsValidationException">The client's options are invalid.</exception>
    public static KubernetesBalancing GetKubernetesBalancing(this IServiceProvider services, string clientName)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(clientName);
        return services.GetRequiredService<KubernetesBalancingProvider>().Get(clientName);
    }
}
