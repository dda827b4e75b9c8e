using k8s;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.KubernetesClient.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the shared Kubernetes watch registry with the API server and credentials of a KubernetesClient configuration.</summary>
public static class KubernetesClientWatchRegistryServiceCollectionExtensions
{
    /// <summary>
    /// <c>AddKubernetesWatchRegistry</c> with its API server and credentials taken from <paramref name="configuration"/>
    /// (see <see cref="LockFree.Balancing.KubernetesClient.KubernetesClientConfigurationExtensions.ToWatcherOptions"/>).
    /// The watchers keep logging through the container's <c>ILoggerFactory</c> and reading its <see cref="TimeProvider"/>.
    /// The mapping runs when the options are first built (at host start: they are validated on start), so an
    /// unmappable configuration stops start-up with a <see cref="LockFree.Balancing.KubernetesClient.KubernetesClientConfigurationException"/>.
    /// The watchers use the registry's own transport; the client certificate the mapping read is disposed with the container.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The configuration to map.</param>
    /// <param name="configure">Changes the other watcher options (timeouts, address family); runs after the mapping.</param>
    /// <param name="allowInsecureSkipTlsVerify">Accept <c>SkipTlsVerify = true</c>; refused by default.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configuration"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddKubernetesWatchRegistry(
        this IServiceCollection services,
        KubernetesClientConfiguration configuration,
        Action<KubernetesWatcherOptions>? configure = null,
        bool allowInsecureSkipTlsVerify = false)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        return Add(services, _ => configuration, configure, allowInsecureSkipTlsVerify);
    }

    /// <summary>
    /// <c>AddKubernetesWatchRegistry</c> with its API server and credentials taken from the
    /// <see cref="KubernetesClientConfiguration"/> registered in the container (the one the application's own
    /// <c>IKubernetes</c> client uses). Otherwise as <see cref="AddKubernetesWatchRegistry(IServiceCollection, KubernetesClientConfiguration, Action{KubernetesWatcherOptions}?, bool)"/>;
    /// start-up fails with an <see cref="InvalidOperationException"/> when none is registered.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes the other watcher options; runs after the mapping.</param>
    /// <param name="allowInsecureSkipTlsVerify">Accept <c>SkipTlsVerify = true</c>; refused by default.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddKubernetesWatchRegistryFromKubernetesClient(
        this IServiceCollection services,
        Action<KubernetesWatcherOptions>? configure = null,
        bool allowInsecureSkipTlsVerify = false)
    {
        ArgumentNullException.ThrowIfNull(services);
        return Add(
            services,
            static provider => provider.GetService<KubernetesClientConfiguration>()
                ?? throw new InvalidOperationException("AddKubernetesWatchRegistryFromKubernetesClient: no KubernetesClientConfiguration is registered; register the one your IKubernetes client uses (services.AddSingleton(KubernetesClientConfiguration.BuildDefaultConfig())) or pass it to AddKubernetesWatchRegistry(configuration)."),
            configure,
            allowInsecureSkipTlsVerify);
    }

    private static IServiceCollection Add(
        IServiceCollection services,
        Func<IServiceProvider, KubernetesClientConfiguration> configuration,
        Action<KubernetesWatcherOptions>? configure,
        bool allowInsecureSkipTlsVerify)
    {
        if (services.Any(static d => d.ServiceType == typeof(MappedKubernetesClientOptions)))
        {
            throw new InvalidOperationException("A KubernetesClientConfiguration is already mapped onto the watch registry in this container; the registry is one per container, so register it once.");
        }

        // Registered before the caller's configure (which AddKubernetesWatchRegistry adds), so the caller's changes win.
        services.AddSingleton(provider => new MappedKubernetesClientOptions(() => configuration(provider), allowInsecureSkipTlsVerify));
        services.AddSingleton<IConfigureOptions<KubernetesWatcherOptions>>(static provider => provider.GetRequiredService<MappedKubernetesClientOptions>());
        return services.AddKubernetesWatchRegistry(configure);
    }
}
