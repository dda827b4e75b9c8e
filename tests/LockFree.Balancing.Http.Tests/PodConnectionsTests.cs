using System.Net;
using Xunit;

namespace LockFree.Balancing.Http.Tests;

/// <summary>
/// What only the default transport does: one handler per pod, the request left as the caller built it, handlers
/// retired with their pods, and the small-body read that ends a lease without wrapping the content.
/// </summary>
public sealed class PodConnectionsTests
{
    private static async Task<Setup> StartAsync(Cluster cluster, Action<KubernetesBalancingOptions>? configure = null, Func<Endpoint, HttpMessageHandler>? podHandlers = null)
    {
        var options = new KubernetesBalancingOptions { PortName = "http", Picker = BalancingPicker.RoundRobin };
        configure?.Invoke(options);
        var balancing = new KubernetesBalancing(cluster.Registry, new BalancingSettings(options, name: string.Empty) { PodHandlerFactory = podHandlers }, loggerFactory: null);
        var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri, Timeout = Cluster.WaitLimit };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());
        return new Setup(balancing, client);
    }

    private const int DefaultBufferedBodyBytes = 16 * 1024;

    private static Endpoint PodOf(Backend backend) => new("127.0.0.1", backend.Port);

    [Fact]
    public void Defaults_ReadBodiesUpTo16KiB()
        => Assert.Equal(DefaultBufferedBodyBytes, new KubernetesBalancingOptions().MaxBufferedBodyBytes);

    [Fact]
    public async Task Redirect_ToAnotherHost_IsDialledAsThatHost_AndWithinTheServiceStaysOnThePod()
    {
        await using Cluster cluster = await Cluster.StartAsync(backendCount: 2, listed: 1); // b1 is no pod of the Service
        using Setup s = await StartAsync(cluster);
        string elsewhere = Uri.EscapeDataString($"http://127.0.0.1:{cluster.Backends[1].Port}/who");

        Assert.Equal("b1", await s.Client.GetStringAsync("redirect?to=" + elsewhere, Cluster.Limit()));
        Assert.Equal("b0", await s.Client.GetStringAsync("redirect?to=%2Fwho", Cluster.Limit()));
        Assert.Equal($"127.0.0.1:{cluster.Backends[1].Port}", Assert.Single(cluster.Backends[1].HostHeaders));
    }

    [Fact]
    public async Task CreateHandler_WithAnInnerHandler_IsRefusedBecauseItWouldNotBeUsed()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        using Setup s = await StartAsync(cluster);

        var ex = Assert.Throws<ArgumentException>(() => s.Balancing.CreateHandler(new SocketsHttpHandler()));

        Assert.Contains("ConfigurePodHandler", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Transport = InnerHandler", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigurePodHandlerThrows_TheRequestFailsWithItsError_AndNoPodIsBlamed()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        using Setup s = await StartAsync(cluster, o =>
        {
            o.OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1, MaxEjectedShare = 1 };
            o.ConfigurePodHandler = _ => throw new InvalidOperationException("bad pod settings");
        });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => s.Client.GetAsync("who", Cluster.Limit()));

        Assert.Equal("bad pod settings", ex.Message);
        Assert.DoesNotContain(s.Service.Balancer.GetStatus(), e => e.IsEjected);
        Assert.Equal(0, s.Service.InFlight);
        Assert.Equal(0, cluster.Backends[0].Hits);
    }

    [Fact]
    public async Task Request_KeepsTheServiceUrl_AndGetsNoHostHeader()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        var seen = new List<(Uri? Uri, string? Host)>();
        using Setup s = await StartAsync(cluster, podHandlers: pod => new Recorder(seen, PodHandlers.CreateSocketsHandler(pod, null)));
        using var request = new HttpRequestMessage(HttpMethod.Get, "who?a=1");

        using HttpResponseMessage response = await s.Client.SendAsync(request, Cluster.Limit());

        Assert.Equal("b0", await response.Content.ReadAsStringAsync(Cluster.Limit()));
        Assert.Equal((new Uri("http://web.shop/who?a=1"), (string?)null), Assert.Single(seen)); // as the pod's handler got it
        Assert.Equal("web.shop", Assert.Single(cluster.Backends[0].HostHeaders));             // written from the URI
    }

    [Fact]
    public async Task PodLeaves_ItsHandlerIsDisposedOnlyAfterTheSendInProgress()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        using Setup s = await StartAsync(cluster);
        PodHandlers pods = s.Service.Pods!;
        Task<HttpResponseMessage> pending = s.Client.GetAsync("hold", Cluster.Limit());
        await cluster.Backends[0].HoldArrived.WaitAsync(Cluster.WaitLimit);
        PodHandler handler = pods.Find(PodOf(cluster.Backends[0]))!;

        await cluster.SendAsync("DELETED", Cluster.SliceOf(cluster.Backends[0]));

        Assert.Null(pods.Find(PodOf(cluster.Backends[0])));
        Assert.False(handler.IsDisposed); // a send is in progress on it
        cluster.Backends[0].ReleaseStream();
        using HttpResponseMessage response = await pending;
        Assert.Equal("b0", await response.Content.ReadAsStringAsync(Cluster.Limit()));
        Assert.True(handler.IsDisposed);
        Assert.Equal(0, pods.Count);
    }

    [Fact]
    public async Task PodLeaves_ABodyStillBeingReadFinishes()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        using Setup s = await StartAsync(cluster);
        PodHandlers pods = s.Service.Pods!;
        using HttpResponseMessage response = await s.Client.GetAsync("stream", HttpCompletionOption.ResponseHeadersRead, Cluster.Limit());
        PodHandler handler = pods.Find(PodOf(cluster.Backends[0]))!;

        await cluster.SendAsync("DELETED", Cluster.SliceOf(cluster.Backends[0]));
        cluster.Backends[0].ReleaseStream();

        Assert.True(handler.IsDisposed); // retired, and its send returned with the headers
        Assert.Equal("b0:end", await response.Content.ReadAsStringAsync(Cluster.Limit()));
        Assert.Equal(0, s.Service.InFlight);
    }

    [Fact]
    public async Task ConfigurePodHandler_AppliesToEachPod_AndAProxyIsNeverUsed()
    {
        await using Cluster cluster = await Cluster.StartAsync(2);
        int configured = 0;
        int connections = 0;
        using Setup s = await StartAsync(cluster, o => o.ConfigurePodHandler = handler =>
        {
            Interlocked.Increment(ref configured);
            handler.Proxy = new WebProxy("http://127.0.0.1:1"); // nothing listens there: used, it would fail every request
            handler.UseProxy = true;
            handler.PlaintextStreamFilter = (context, _) =>
            {
                Interlocked.Increment(ref connections);
                return ValueTask.FromResult(context.PlaintextStream);
            };
        });
        for (int i = 0; i < 6; i++)
        {
            _ = await s.Client.GetStringAsync("who", Cluster.Limit());
        }

        Assert.Equal(2, configured);  // one handler per pod
        Assert.Equal(2, connections); // one pooled connection each
        Assert.Equal(3, cluster.Backends[0].Hits);
        Assert.Equal(3, cluster.Backends[1].Hits);
    }

    [Fact]
    public async Task Http3Request_IsRefusedWithAnErrorThatSaysWhatToDo()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        using Setup s = await StartAsync(cluster);
        using var request = new HttpRequestMessage(HttpMethod.Get, "who") { Version = HttpVersion.Version30 };

        var ex = await Assert.ThrowsAsync<NotSupportedException>(() => s.Client.SendAsync(request, Cluster.Limit()));

        Assert.Contains("InnerHandler", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, cluster.Backends[0].Hits);
        Assert.Equal(0, s.Service.InFlight);
    }

    [Theory]
    [InlineData(100, DefaultBufferedBodyBytes, false)]
    [InlineData(DefaultBufferedBodyBytes, DefaultBufferedBodyBytes, false)]
    [InlineData(DefaultBufferedBodyBytes + 1, DefaultBufferedBodyBytes, true)]
    [InlineData(100, 0, true)]   // turned off: every body is wrapped
    [InlineData(100, 64, true)]
    public async Task SizedBody_SmallIsReadInTheHandler_LargerKeepsItsLeaseUntilRead(int size, int limit, bool heldUntilRead)
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        using Setup s = await StartAsync(cluster, o => o.MaxBufferedBodyBytes = limit);
        BalancedService service = s.Service;

        using HttpResponseMessage response = await s.Client.GetAsync("sized/" + size, HttpCompletionOption.ResponseHeadersRead, Cluster.Limit());

        Assert.Equal(heldUntilRead ? 1 : 0, service.InFlight);
        Assert.Equal(size, response.Content.Headers.ContentLength);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(size, (await response.Content.ReadAsByteArrayAsync(Cluster.Limit())).Length);
        Assert.Equal(0, service.InFlight);
    }

    [Fact]
    public async Task Disposed_RetiresEveryPodHandler()
    {
        await using Cluster cluster = await Cluster.StartAsync(2);
        using Setup s = await StartAsync(cluster);
        _ = await s.Client.GetStringAsync("who", Cluster.Limit());
        _ = await s.Client.GetStringAsync("who", Cluster.Limit());
        PodHandlers pods = s.Service.Pods!;
        PodHandler[] handlers = [pods.Find(PodOf(cluster.Backends[0]))!, pods.Find(PodOf(cluster.Backends[1]))!];

        s.Balancing.Dispose();

        Assert.All(handlers, h => Assert.True(h.IsDisposed));
        Assert.Throws<ObjectDisposedException>(() => pods.Enter(PodOf(cluster.Backends[0])));
    }

    /// <summary>A balancing set and a client over its handler.</summary>
    private sealed class Setup(KubernetesBalancing balancing, HttpClient client) : IDisposable
    {
        public KubernetesBalancing Balancing => balancing;

        public HttpClient Client => client;

        public BalancedService Service => balancing.Resolve(Cluster.ServiceUri).Service;

        public void Dispose()
        {
            client.Dispose();
            balancing.Dispose(); // a second call does nothing
        }
    }

    /// <summary>In front of a pod's handler: notes the request as the pod's handler receives it.</summary>
    private sealed class Recorder(List<(Uri? Uri, string? Host)> seen, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (seen)
            {
                seen.Add((request.RequestUri, request.Headers.Host));
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
