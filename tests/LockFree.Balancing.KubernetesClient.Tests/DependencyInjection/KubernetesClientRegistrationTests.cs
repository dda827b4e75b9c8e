using k8s;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Xunit;
using static LockFree.Balancing.KubernetesClient.Tests.TestCluster;

namespace LockFree.Balancing.KubernetesClient.Tests.DependencyInjection;

/// <summary>The DI overloads: the shared registry with the configuration's server and credentials on the adapter's transport, the container's logging kept, the mapped client certificate disposed with the container.</summary>
public sealed class KubernetesClientRegistrationTests : IAsyncLifetime
{
    private readonly TestCertificates _certificates = TestCertificates.Create();
    private FakeApiServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await StartAsync(_certificates.Server);
        _server.RequiredToken = "di-token";
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _certificates.Dispose();
    }

    private KubernetesClientConfiguration Configuration() => new()
    {
        Host = _server.BaseAddress.AbsoluteUri,
        AccessToken = "di-token",
        SslCaCerts = [_certificates.Authority],
    };

    private static async Task<string[]> SubscribeAsync(IServiceProvider provider)
    {
        KubernetesWatchRegistry registry = provider.GetRequiredService<KubernetesWatchRegistry>();
        using WatchSubscription subscription = registry.Subscribe(Web, new RoundRobinBalancer());
        await subscription.Watcher.WaitForVersionAsync(1, Limit());
        return [.. subscription.Watcher.Endpoints.Select(e => e.Key).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task AddKubernetesWatchRegistry_Configuration_WatchesOverTlsAndLogsThroughContainer()
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Debug));
        services.AddKubernetesWatchRegistry(Configuration(), o => o.WatchTimeout = TimeSpan.FromSeconds(60));
        await using (ServiceProvider provider = services.BuildServiceProvider())
        {
            Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], await SubscribeAsync(provider));
            KubernetesWatcherOptions options = provider.GetRequiredService<IOptions<KubernetesWatcherOptions>>().Value;
            Assert.Equal(TimeSpan.FromSeconds(60), options.WatchTimeout); // the caller's configure runs after the mapping
            Assert.Null(options.HttpHandler); // the registry's own transport
            Assert.Same(options.CertificateAuthorities, provider.GetRequiredService<IOptionsMonitor<KubernetesWatcherOptions>>().CurrentValue.CertificateAuthorities); // one mapping per container
            Assert.Contains(provider.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 100 && r.Category == typeof(KubernetesEndpointWatcher).FullName);
        }

        Assert.All(_server.Authorizations, header => Assert.Equal("Bearer di-token", header));
        Assert.All(_server.Protocols, protocol => Assert.Equal("HTTP/2", protocol));
    }

    [Fact]
    public async Task AddKubernetesWatchRegistry_ClientCertificate_PresentedAndDisposedWithContainer()
    {
        (string certificatePem, string keyPem) = ClientCertificate("CN=dora");
        KubernetesClientConfiguration configuration = Configuration();
        configuration.ClientCertificateData = Base64(certificatePem);
        configuration.ClientCertificateKeyData = Base64(keyPem);
        var services = new ServiceCollection();
        services.AddKubernetesWatchRegistry(configuration);
        System.Security.Cryptography.X509Certificates.X509Certificate2 certificate;
        await using (ServiceProvider provider = services.BuildServiceProvider())
        {
            Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], await SubscribeAsync(provider));
            certificate = provider.GetRequiredService<IOptions<KubernetesWatcherOptions>>().Value.ClientCertificate!;
            Assert.NotEqual(IntPtr.Zero, certificate.Handle);
        }

        Assert.All(_server.ClientCertificateSubjects, subject => Assert.Equal("CN=dora", subject));
        Assert.Equal(IntPtr.Zero, certificate.Handle); // disposed with the container, after the registry
    }

    [Fact]
    public async Task AddKubernetesWatchRegistry_TokenProvider_OneSourceSharedByTheRegistry()
    {
        string directory = Directory.CreateTempSubdirectory("lockfree-kc-di-").FullName;
        try
        {
            string file = Path.Combine(directory, "token");
            await File.WriteAllTextAsync(file, "di-token");
            KubernetesClientConfiguration configuration = Configuration();
            configuration.AccessToken = null;
            configuration.TokenProvider = new k8s.Authentication.TokenFileAuth(file);
            var services = new ServiceCollection();
            services.AddKubernetesWatchRegistry(configuration);
            await using ServiceProvider provider = services.BuildServiceProvider();

            Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], await SubscribeAsync(provider));
            Assert.NotNull(provider.GetRequiredService<IOptions<KubernetesWatcherOptions>>().Value.CredentialSource);
            Assert.Same(
                provider.GetRequiredService<IOptions<KubernetesWatcherOptions>>().Value.CredentialSource,
                provider.GetRequiredService<IOptionsMonitor<KubernetesWatcherOptions>>().CurrentValue.CredentialSource);
            Assert.All(_server.Authorizations, header => Assert.Equal("Bearer di-token", header));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task AddKubernetesWatchRegistryFromKubernetesClient_ReadsConfigurationFromContainer()
    {
        var services = new ServiceCollection();
        services.AddSingleton(Configuration());
        services.AddKubernetesWatchRegistryFromKubernetesClient();
        await using ServiceProvider provider = services.BuildServiceProvider();

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], await SubscribeAsync(provider));
    }

    [Fact]
    public async Task AddKubernetesWatchRegistryFromKubernetesClient_NoneRegistered_StartFailsSayingSo()
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddKubernetesWatchRegistryFromKubernetesClient();
        using IHost host = builder.Build();

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync(Limit()));

        Assert.Contains("no KubernetesClientConfiguration is registered", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddKubernetesWatchRegistry_UnmappableConfiguration_StartFailsNamingTheField()
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddKubernetesWatchRegistry(new KubernetesClientConfiguration { Host = _server.BaseAddress.AbsoluteUri, SkipTlsVerify = true });
        using IHost host = builder.Build();

        var exception = await Assert.ThrowsAsync<KubernetesClientConfigurationException>(() => host.StartAsync(Limit()));

        Assert.Equal("SkipTlsVerify", exception.Field);
    }

    [Fact]
    public void AddKubernetesWatchRegistry_TwoConfigurations_Refused()
    {
        var services = new ServiceCollection();
        services.AddKubernetesWatchRegistry(Configuration());

        var exception = Assert.Throws<InvalidOperationException>(() => services.AddKubernetesWatchRegistryFromKubernetesClient());

        Assert.Contains("already mapped", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddKubernetesWatchRegistry_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => ((IServiceCollection)null!).AddKubernetesWatchRegistry(Configuration()));
        Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddKubernetesWatchRegistry((KubernetesClientConfiguration)null!));
        Assert.Throws<ArgumentNullException>(() => ((IServiceCollection)null!).AddKubernetesWatchRegistryFromKubernetesClient());
    }

    [Fact]
    public async Task Options_ResolvedFromManyThreadsAtOnce_OneMapping()
    {
        var services = new ServiceCollection();
        services.AddKubernetesWatchRegistry(Configuration());
        await using ServiceProvider provider = services.BuildServiceProvider();
        IOptionsMonitor<KubernetesWatcherOptions> monitor = provider.GetRequiredService<IOptionsMonitor<KubernetesWatcherOptions>>();
        using var start = new Barrier(4);

        System.Security.Cryptography.X509Certificates.X509Certificate2Collection?[] mapped = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(10));
            return i % 2 == 0
                ? provider.GetRequiredService<IOptions<KubernetesWatcherOptions>>().Value.CertificateAuthorities
                : monitor.Get(Options.DefaultName).CertificateAuthorities;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))); // own threads: the barrier must not starve the pool

        Assert.NotNull(mapped[0]);
        Assert.All(mapped, m => Assert.Same(mapped[0], m)); // one mapping, however many options instances
    }
}
