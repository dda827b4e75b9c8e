using System.Globalization;
using Microsoft.AspNetCore.Builder;
using LockFree.Balancing.Kubernetes.Fakes;
using Microsoft.AspNetCore.Http;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>One "pod": a real Kestrel server on 127.0.0.1 and its own port that answers every request with its name.</summary>
internal sealed class BackendPod : IAsyncDisposable
{
    /// <summary>The response header that names the pod that served the request.</summary>
    public const string ServedByHeader = "x-served-by";

    private readonly WebApplication _app;
    private readonly TimeSpan _serviceTime;
    private long _served;
    private int _inFlight;
    private int _peakInFlight;
    private int _stopped;

    private BackendPod(WebApplication app, string name, TimeSpan serviceTime)
    {
        _app = app;
        Name = name;
        _serviceTime = serviceTime;
    }

    public string Name { get; }

    public int Port { get; private init; }

    /// <summary>The balancer key the watcher will publish for this pod (<c>127.0.0.1:port</c>).</summary>
    public string EndpointKey => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

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
        pod = new BackendPod(app, name, serviceTime) { Port = address.Port };
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
        await _app.StopAsync(timeout.Token).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext context)
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
}
