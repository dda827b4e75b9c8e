using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;

namespace LockFree.Balancing.Kubernetes.Tests.RealCluster;

/// <summary>
/// Portless headless Services and Service port versus target port (issue 15, gap 3): slice ports are target ports;
/// <c>ports: []</c> means the Service defines none; a numeric Service port is mapped through the Service's spec.
/// </summary>
public sealed class ServicePortTests : IAsyncLifetime
{
    private FakeCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await FakeCluster.StartAsync("shop", "web");

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private static CancellationToken Limit() => new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token;

    private KubernetesEndpointWatcher CreateWatcher(string reference) => new(ServiceReference.Parse(reference), _ => { }, new KubernetesWatcherOptions
    {
        ApiServer = _cluster.BaseAddress,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(5),
        Random = new Random(1),
    });

    private int ServiceGets => _cluster.Requests.Count(r => r.Target.StartsWith("/api/v1/namespaces/shop/services/web", StringComparison.Ordinal));

    private void TargetPort8080Slices()
    {
        _cluster.Apply(new FakeSlice("web-a", 8080, [new FakeSliceEndpoint("10.0.0.1", "pod-1"), new FakeSliceEndpoint("10.0.0.2", "pod-2")]));
        _cluster.Apply(new FakeSlice("web-b", 8081, [new FakeSliceEndpoint("10.0.0.3", "pod-3")])); // a named target port can differ per slice
    }

    [Fact]
    public async Task PortlessHeadlessService_CallerSuppliesPort_Works()
    {
        _cluster.Apply(new FakeSlice("web-a", 0, [new FakeSliceEndpoint("10.0.0.1", "pod-1"), new FakeSliceEndpoint("10.0.0.2", "pod-2")]) { Portless = true });
        await using KubernetesEndpointWatcher watcher = CreateWatcher("web.shop:5432");

        await watcher.SyncOnceAsync(Limit());

        Assert.Equal(["10.0.0.1:5432", "10.0.0.2:5432"], watcher.Endpoints.Select(e => e.Key));
        Assert.Null(watcher.Status.PortDiagnostic);
        Assert.Equal(0, ServiceGets);
    }

    [Fact]
    public async Task PortlessHeadlessService_NamedPort_DiagnosticAsksForNumber()
    {
        _cluster.Apply(new FakeSlice("web-a", 0, [new FakeSliceEndpoint("10.0.0.1", "pod-1")]) { Portless = true });
        await using KubernetesEndpointWatcher watcher = CreateWatcher("web.shop:http");

        await watcher.SyncOnceAsync(Limit());

        Assert.Empty(watcher.Endpoints);
        Assert.Contains("defines no ports", watcher.Status.PortDiagnostic, StringComparison.Ordinal);
        Assert.Contains("give the port number", watcher.Status.PortDiagnostic, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServicePort80_TargetPortNamed_MappedThroughServiceSpec_PerSlice()
    {
        TargetPort8080Slices();
        _cluster.ServicePorts = [new FakeServicePort("http", 80, "web-http"), new FakeServicePort("grpc", 9000, "9090")];
        await using KubernetesEndpointWatcher watcher = CreateWatcher("web.shop:80");

        watcher.StartBackgroundSync();
        KubernetesWatchStatus status = await watcher.WaitForStatusAsync(s => s.Version >= 1 && watcher.Endpoints.Count == 3, Limit());

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8081"], watcher.Endpoints.Select(e => e.Key));
        Assert.Null(status.PortDiagnostic);
        Assert.Equal(1, ServiceGets);

        // A slice added later resolves through the same mapping, with no further GET.
        long version = _cluster.Apply(new FakeSlice("web-c", 8082, [new FakeSliceEndpoint("10.0.0.4", "pod-4")]));
        await watcher.WaitForStatusAsync(s => s.ResourceVersion == version.ToString(System.Globalization.CultureInfo.InvariantCulture), Limit());
        Assert.Contains("10.0.0.4:8082", watcher.Endpoints.Select(e => e.Key));
        Assert.Equal(1, ServiceGets);
    }

    [Fact]
    public async Task ServicePort_TargetPortNumberListed_NeedsNoServiceGet()
    {
        TargetPort8080Slices();
        _cluster.ServicePorts = [new FakeServicePort("http", 80, "8080")];
        await using KubernetesEndpointWatcher watcher = CreateWatcher("web.shop:8080");

        await watcher.SyncOnceAsync(Limit());

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], watcher.Endpoints.Select(e => e.Key));
        Assert.Equal(0, ServiceGets);
    }

    [Fact]
    public async Task ServicePort_GetForbidden_SaysWhichPermissionAndWhatWorksWithout()
    {
        TargetPort8080Slices();
        _cluster.ServiceForbidden = true;
        await using KubernetesEndpointWatcher watcher = CreateWatcher("web.shop:80");

        await watcher.SyncOnceAsync(Limit());

        Assert.Empty(watcher.Endpoints);
        string diagnostic = watcher.Status.PortDiagnostic!;
        Assert.Contains("offers port 80", diagnostic, StringComparison.Ordinal);
        Assert.Contains("'get' on services", diagnostic, StringComparison.Ordinal);
        Assert.Contains("namespace 'shop'", diagnostic, StringComparison.Ordinal);
        Assert.Contains("web.shop:portname", diagnostic, StringComparison.Ordinal);
        Assert.Null(watcher.Status.LastError); // the sync itself succeeded
    }

    [Fact]
    public async Task NamedPort_NeverGetsTheService()
    {
        TargetPort8080Slices();
        _cluster.ServiceForbidden = true;
        await using KubernetesEndpointWatcher watcher = CreateWatcher("web.shop:http");

        await watcher.SyncOnceAsync(Limit());

        Assert.Equal(3, watcher.Endpoints.Count);
        Assert.Equal(0, ServiceGets);
    }

    [Fact]
    public async Task ServicePort_NotInService_SaysSoWithTheServicePorts()
    {
        TargetPort8080Slices();
        _cluster.ServicePorts = [new FakeServicePort("http", 80, "8080")];
        await using KubernetesEndpointWatcher watcher = CreateWatcher("web.shop:81");

        await watcher.SyncOnceAsync(Limit());

        Assert.Empty(watcher.Endpoints);
        Assert.Contains("The Service has no port 81 either (its ports: 80->8080 (http))", watcher.Status.PortDiagnostic, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServicePort_ServiceMissing_SaysSo()
    {
        TargetPort8080Slices();
        await using KubernetesEndpointWatcher watcher = CreateWatcher("web.shop:80");

        await watcher.SyncOnceAsync(Limit());

        Assert.Contains("Service 'web' in namespace 'shop' does not exist", watcher.Status.PortDiagnostic, StringComparison.Ordinal);
    }
}
