using LockFree.Balancing.Http;
using LockFree.Balancing.Http.DependencyInjection;
using Microsoft.Extensions.Configuration;
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
        return builder.AddHttpMessageHandler(sp => new KubernetesBalancingHandler(sp.GetRequiredService<KubernetesBalancingProvider>().Get(name)));
    }
}
