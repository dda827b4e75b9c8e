using LockFree.Balancing.Http;
using LockFree.Balancing.Http.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Kubernetes Service balancing to a named or typed <c>HttpClient</c>.</summary>
public static class KubernetesBalancingHttpClientBuilderExtensions
{
    /// <summary>
    /// Sends this client's requests to pods of the Kubernetes Service each request URI names (e.g. a BaseAddress of
    /// <c>http://orders.shop</c>), through a <see cref="KubernetesBalancingHandler"/>. Options are named after the
    /// client and validated when the host starts. Add it after other message handlers, so that they (logging, retry
    /// policies) see the Service URL and each of their attempts is balanced.
    /// </summary>
    /// <param name="builder">The client builder from <c>AddHttpClient</c>.</param>
    /// <param name="configure">Sets the options; <see langword="null"/> for the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddKubernetesBalancing(this IHttpClientBuilder builder, Action<KubernetesBalancingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Name is null)
        {
            return AddToEveryClient(builder, configure is null ? null : o => configure(o));
        }

        OptionsBuilder<KubernetesBalancingOptions> options = builder.Services.AddOptions<KubernetesBalancingOptions>(builder.Name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddHandler(builder, options);
    }

    /// <summary>As <see cref="AddKubernetesBalancing(IHttpClientBuilder, Action{KubernetesBalancingOptions})"/>, with the options bound from a configuration section (e.g. <c>Configuration.GetSection("Orders:Balancing")</c>), then <paramref name="configure"/>.</summary>
    /// <param name="builder">The client builder from <c>AddHttpClient</c>.</param>
    /// <param name="configuration">The section whose keys are the option names (<c>Picker</c>, <c>PortName</c>, <c>AffinityHeader</c>, <c>OutlierEjection:ConsecutiveFailures</c>, ...).</param>
    /// <param name="configure">Further settings in code (e.g. <see cref="KubernetesBalancingOptions.AffinityKey"/>); <see langword="null"/> for none.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configuration"/> is <see langword="null"/>.</exception>
    public static IHttpClientBuilder AddKubernetesBalancing(this IHttpClientBuilder builder, IConfiguration configuration, Action<KubernetesBalancingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        if (builder.Name is null)
        {
            return AddToEveryClient(builder, o =>
            {
                configuration.Bind(o);
                configure?.Invoke(o);
            });
        }

        OptionsBuilder<KubernetesBalancingOptions> options = builder.Services.AddOptions<KubernetesBalancingOptions>(builder.Name)
            .Configure(o => configuration.Bind(o));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddHandler(builder, options);
    }

    private static IHttpClientBuilder AddHandler(IHttpClientBuilder builder, OptionsBuilder<KubernetesBalancingOptions> options)
    {
        options.ValidateOnStart();
        builder.Services.AddKubernetesBalancingCore();
        string name = builder.Name;
        // A client balanced explicitly is skipped by the every-client registration below: one balancing handler per client.
        builder.Services.AddSingleton(new ExplicitlyBalancedClient(name));
        return builder.AddHttpMessageHandler(sp => new KubernetesBalancingHandler(sp.GetRequiredService<KubernetesBalancingProvider>().Get(name)));
    }

    // ConfigureHttpClientDefaults(b => b.AddKubernetesBalancing(...)): the builder has no name, and a handler factory
    // registered through it would not learn which client it builds for. The factory's options do: each client gets the
    // balancing set of its own name, whose options are the every-client settings (ConfigureAll) plus its own.
    private static IHttpClientBuilder AddToEveryClient(IHttpClientBuilder builder, Action<KubernetesBalancingOptions>? configure)
    {
        IServiceCollection services = builder.Services;
        if (configure is not null)
        {
            services.ConfigureAll(configure);
        }

        // The default name receives every ConfigureAll action: validating it at start checks the shared settings.
        services.AddOptions<KubernetesBalancingOptions>().ValidateOnStart();
        services.AddKubernetesBalancingCore();
        services.ConfigureAll<HttpClientFactoryOptions>(factory => factory.HttpMessageHandlerBuilderActions.Add(static handlers =>
        {
            string name = handlers.Name ?? Microsoft.Extensions.Options.Options.DefaultName;
            foreach (ExplicitlyBalancedClient client in handlers.Services.GetServices<ExplicitlyBalancedClient>())
            {
                if (string.Equals(client.Name, name, StringComparison.Ordinal))
                {
                    return;
                }
            }

            handlers.AdditionalHandlers.Add(new KubernetesBalancingHandler(handlers.Services.GetRequiredService<KubernetesBalancingProvider>().Get(name)));
        }));
        return builder;
    }
}
