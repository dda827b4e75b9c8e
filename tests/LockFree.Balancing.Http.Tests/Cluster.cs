using System.Net;
using System.Net.Sockets;
using LockFree.Balancing.Kubernetes;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Http.Tests;

/// <summary>
/// The fake API server (namespace <c>shop</c>, Service <c>web</c>) plus real Kestrel backends, one EndpointSlice per
/// backend (<c>web-{name}</c>, port <c>http</c> = the backend's port, address 127.0.0.1), and a watch registry on it.
/// </summary>
public sealed class Cluster : IAsyncDisposable
{
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);
    public static readonly Uri ServiceUri = new("http://web.shop/");
    public static readonly ServiceReference Web = ServiceReference.Parse("web.shop:http");

    private readonly List<string> _listed = [];
    private int _resourceVersion = 100;

    private Cluster(FakeApiServer server, Backend[] backends)
    {
        Server = server;
        Backends = backends;
        Registry = new KubernetesWatchRegistry(WatcherOptions(server), TimeSpan.FromMinutes(1));
    }

    public FakeApiServer Server { get; }

    public Backend[] Backends { get; }

    public KubernetesWatchRegistry Registry { get; }

    public WatchConnection? Watch { get; private set; }

    public static KubernetesWatcherOptions WatcherOptions(FakeApiServer server) => new()
    {
        ApiServer = server.BaseAddress,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(100),
        Random = new Random(1),
    };

    /// <summary>Starts the API server and <paramref name="backendCount"/> backends, and lists <paramref name="listed"/> of them (all by default) plus <paramref name="deadPorts"/>.</summary>
    public static async Task<Cluster> StartAsync(int backendCount, int? listed = null, params int[] deadPorts)
    {
        FakeApiServer server = await FakeApiServer.StartAsync();
        var backends = new Backend[backendCount];
        for (int i = 0; i < backendCount; i++)
        {
            backends[i] = await Backend.StartAsync("b" + i);
        }

        var cluster = new Cluster(server, backends);
        string[] slices = [.. backends.Take(listed ?? backendCount).Select(SliceOf), .. deadPorts.Select(DeadSlice)];
        server.SetList("100", slices);
        return cluster;
    }

    public static string SliceOf(Backend backend) => Slice("web-" + backend.Name, "50", "IPv4", HttpPort(backend.Port), Endpoint("127.0.0.1"));

    public static string DeadSlice(int port) => Slice("web-dead-" + port, "50", "IPv4", HttpPort(port), Endpoint("127.0.0.1"));

    /// <summary>A loopback port nothing listens on: connections to it are refused.</summary>
    public static int RefusingPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>
    /// A loopback listener that accepts every connection and resets it at once (RST, nothing read or written), as a
    /// pod whose process died behind a live socket does. Dispose it to stop.
    /// </summary>
    public sealed class ResettingListener : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();

        public ResettingListener()
        {
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = Task.Run(AcceptLoopAsync);
        }

        public int Port { get; }

        public int Accepted => Volatile.Read(ref _accepted);

        private int _accepted;

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }

        private async Task AcceptLoopAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    using Socket socket = await _listener.AcceptSocketAsync(_stop.Token);
                    Interlocked.Increment(ref _accepted);
                    socket.LingerState = new LingerOption(true, 0); // close with RST, not FIN
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // stopped
            }
        }
    }

    public static CancellationToken Limit() => new CancellationTokenSource(WaitLimit).Token;

    /// <summary>Sends a watch event and waits until every subscriber has it (the watcher's version moved on).</summary>
    public async Task SendAsync(string type, string slice)
    {
        Watch ??= await Server.NextWatchAsync(WaitLimit);
        Assert.True(Registry.TryGetWatcher(Web, out KubernetesEndpointWatcher? watcher));
        long version = watcher.Status.Version;
        string rv = (++_resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Watch.Send(Event(type, slice.Replace("\"resourceVersion\":\"50\"", "\"resourceVersion\":\"" + rv + "\"", StringComparison.Ordinal)));
        await watcher.WaitForVersionAsync(version + 1, Limit());
    }

    public async ValueTask DisposeAsync()
    {
        await Registry.DisposeAsync();
        foreach (Backend backend in Backends)
        {
            await backend.DisposeAsync();
        }

        await Server.DisposeAsync();
    }
}
