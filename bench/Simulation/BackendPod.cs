using System.Globalization;
using System.Net;
using Grpc.Core;
using LockFree.Balancing.Benchmarks.Protos;
using LockFree.Balancing.Kubernetes.Fakes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// One "pod": a real Kestrel server on 127.0.0.1 and its own port that answers every request with its name, and a
/// second Kestrel server (plaintext HTTP/2, Grpc.AspNetCore) on another port serving <c>Echo.Who</c> the same way:
/// the Service's ports <c>http</c> and <c>grpc</c>. Both count the requests and calls in progress in the same
/// counter (the simulation sends over one protocol at a time).
/// </summary>
internal sealed class BackendPod : IAsyncDisposable
{
    /// <summary>The response header that names the pod that served the request.</summary>
    public const string ServedByHeader = "x-served-by";

    private readonly WebApplication _app;
    private readonly WebApplication _grpcApp;
    private readonly TimeSpan _serviceTime;
    private long _served;
    private int _inFlight;
    private int _peakInFlight;
    private int _stopped;
    private int _disposed;

    private BackendPod(WebApplication app, WebApplication grpcApp, string name, TimeSpan serviceTime)
    {
        _app = app;
        _grpcApp = grpcApp;
        Name = name;
        _serviceTime = serviceTime;
    }

    public string Name { get; }

    public int Port { get; private init; }

    /// <summary>The balancer key the watcher will publish for this pod (<c>127.0.0.1:port</c>).</summary>
    public string EndpointKey => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>The gRPC server's port (the Service's port <c>grpc</c>).</summary>
    public int GrpcPort { get; private init; }

    /// <summary>The balancer key a watch of the port <c>grpc</c> publishes for this pod.</summary>
    public string GrpcEndpointKey => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{GrpcPort}");

    /// <summary>Requests this pod answered.</summary>
    public long Served => Interlocked.Read(ref _served);

    public bool IsStopped => Volatile.Read(ref _stopped) != 0;

    /// <summary>Returns the most requests this pod had in progress at once since the last call, and starts over.</summary>
    public int TakePeakInFlight() => Interlocked.Exchange(ref _peakInFlight, Volatile.Read(ref _inFlight));

    public static async Task<BackendPod> StartAsync(string name, TimeSpan serviceTime, CancellationToken cancellationToken)
    {
        // No request can arrive before the address is known, which is after pod is assigned.
        BackendPod? pod = null;
        (WebApplication app, Uri address) = await LoopbackKestrel.StartAsync(context => pod!.HandleAsync(context), cancellationToken).ConfigureAwait(false);
        (WebApplication grpcApp, int grpcPort) = await StartGrpcAsync(() => pod!, cancellationToken).ConfigureAwait(false);
        pod = new BackendPod(app, grpcApp, name, serviceTime) { Port = address.Port, GrpcPort = grpcPort };
        return pod;
    }

    /// <summary>Stops accepting, lets requests in progress finish (up to 5 s), and releases the port.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await Task.WhenAll(_app.StopAsync(timeout.Token), _grpcApp.StopAsync(timeout.Token)).ConfigureAwait(false);
    }

    /// <summary>Stops the pod (see <see cref="StopAsync"/>) and releases its servers; the counters stay readable. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        await _grpcApp.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task<(WebApplication App, int Port)> StartGrpcAsync(Func<BackendPod> pod, CancellationToken cancellationToken)
    {
        // No configuration reload: each reloading app holds an inotify instance, and a run starts over a hundred pods
        // (the user limit is often 128).
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_ => pod());
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        WebApplication app = builder.Build();
        app.MapGrpcService<EchoService>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return (app, address.Port);
    }

    private int Enter()
    {
        Interlocked.Increment(ref _served);
        int inFlight = Interlocked.Increment(ref _inFlight);
        for (int peak = Volatile.Read(ref _peakInFlight); inFlight > peak; peak = Volatile.Read(ref _peakInFlight))
        {
            if (Interlocked.CompareExchange(ref _peakInFlight, inFlight, peak) == peak)
            {
                break;
            }
        }

        return inFlight;
    }

    private async Task HandleAsync(HttpContext context)
    {
        Enter();
        try
        {
            context.Response.Headers[ServedByHeader] = Name;
            if (_serviceTime > TimeSpan.Zero)
            {
                await Task.Delay(_serviceTime, context.RequestAborted).ConfigureAwait(false);
            }
        }
        finally
        {
            // Counted out before the response is written: the client's lease, released only after the whole
            // response arrived, always covers this interval, so this count never exceeds the client's.
            Interlocked.Decrement(ref _inFlight);
        }

        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync(Name, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// The pod's gRPC service: counts the call in, waits the service time (or the request's <c>delay_ms</c> when it
    /// asks for more), counts it out, and answers with the pod's name and the count it found on arrival.
    /// </summary>
    private sealed class EchoService(BackendPod pod) : Echo.EchoBase
    {
        public override async Task<WhoReply> Who(WhoRequest request, ServerCallContext context)
        {
            int inFlight = pod.Enter();
            try
            {
                TimeSpan delay = TimeSpan.FromMilliseconds(Math.Max(request.DelayMs, pod._serviceTime.TotalMilliseconds));
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, context.CancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                // Counted out before the reply is written: the client's call, which counts from its pick until the
                // response arrives, always covers this interval (as for the HTTP requests above).
                Interlocked.Decrement(ref pod._inFlight);
            }

            return new WhoReply { Pod = pod.Name, InFlight = inFlight };
        }
    }
}
