using System.Net;
using LockFree.Balancing.Kubernetes.Fakes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LockFree.Balancing.Yarp.Tests;

/// <summary>
/// A pod stand-in: Kestrel on 127.0.0.1:0 answering its name. <c>/hold</c> waits for <see cref="Release"/> before
/// answering; the pod counts the requests it is serving and the most it ever served at once.
/// </summary>
public sealed class Pod : IAsyncDisposable
{
    private readonly WebApplication _app;
    private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _active;
    private int _maxActive;
    private int _hits;
    private bool _stopped;

    private Pod(string name, WebApplication app, int port)
    {
        Name = name;
        _app = app;
        Port = port;
    }

    public string Name { get; }

    public int Port { get; }

    public int Hits => Volatile.Read(ref _hits);

    public int Active => Volatile.Read(ref _active);

    public int MaxActive => Volatile.Read(ref _maxActive);

    public FakeSlice Slice => new("orders-" + Name, Port, [new FakeSliceEndpoint("127.0.0.1", Name)]);

    public static async Task<Pod> StartAsync(string name)
    {
        Pod? pod = null;
        (WebApplication app, Uri address) = await LoopbackKestrel.StartAsync(context => pod!.HandleAsync(context));
        pod = new Pod(name, app, address.Port);
        return pod;
    }

    /// <summary>Lets every waiting <c>/hold</c> request answer.</summary>
    public void Release() => Interlocked.Exchange(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Stops listening after the requests in progress end (Kestrel's graceful stop).</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        Release();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(limit.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        int active = Interlocked.Increment(ref _active);
        Interlocked.Increment(ref _hits);
        int seen = Volatile.Read(ref _maxActive);
        while (active > seen && Interlocked.CompareExchange(ref _maxActive, active, seen) != seen)
        {
            seen = Volatile.Read(ref _maxActive);
        }

        try
        {
            if (context.Request.Path.StartsWithSegments("/hold", StringComparison.Ordinal))
            {
                await Volatile.Read(ref _gate).Task.WaitAsync(TimeSpan.FromSeconds(10), context.RequestAborted);
            }

            await context.Response.WriteAsync(Name);
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }
}
