using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Http.Tests;

/// <summary>
/// A pod stand-in: Kestrel on 127.0.0.1:0 that answers with its name and records what it saw.
/// <c>/who</c> answers the name; <c>/status/{code}</c> answers that code; <c>/stream</c> sends one chunk and then
/// waits for <see cref="ReleaseStream"/> before the last one; <c>/hold</c> sends nothing, not even headers, until
/// <see cref="ReleaseStream"/> (<see cref="HoldArrived"/> completes when it has the request); <c>/sized/{n}</c>
/// answers n bytes with Content-Type and Content-Length; <c>/redirect?to=url</c> answers 302 to that URL.
/// </summary>
public sealed class Backend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private TaskCompletionSource _streamGate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _holdArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Backend(WebApplication app, string name, ConcurrentQueue<string> serverNames)
    {
        _app = app;
        Name = name;
        TlsServerNames = serverNames;
    }

    public string Name { get; }

    public int Port { get; private set; }

    public int Hits => Requests.Count;

    public ConcurrentQueue<string> Requests { get; } = new();

    public ConcurrentQueue<string> HostHeaders { get; } = new();

    /// <summary>When set, every response carries it in an <c>x-load</c> header, as a pod reporting its load would.</summary>
    public string? ReportedLoad { get; set; }

    /// <summary>The server name (SNI) of every TLS handshake.</summary>
    public ConcurrentQueue<string> TlsServerNames { get; }

    public static async Task<Backend> StartAsync(string name, X509Certificate2? certificate = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (certificate is not null)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        var serverNames = new ConcurrentQueue<string>();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (certificate is not null)
            {
                // The selector sees the server name the client sent (SNI) in its handshake.
                listen.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions
                {
                    ServerCertificateSelector = (_, serverName) =>
                    {
                        serverNames.Enqueue(serverName ?? "");
                        return certificate;
                    },
                });
            }
        }));
        WebApplication app = builder.Build();
        var backend = new Backend(app, name, serverNames);
        app.Run(backend.HandleAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        backend.Port = new Uri(address).Port;
        return backend;
    }

    /// <summary>Completes when a <c>/hold</c> request has arrived.</summary>
    public Task HoldArrived => _holdArrived.Task;

    /// <summary>Lets every waiting <c>/stream</c> and <c>/hold</c> response finish.</summary>
    public void ReleaseStream() => Interlocked.Exchange(ref _streamGate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public async ValueTask DisposeAsync()
    {
        ReleaseStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        Requests.Enqueue(context.Request.Method + " " + context.Request.Path + context.Request.QueryString);
        HostHeaders.Enqueue(context.Request.Headers.Host.ToString());
        if (ReportedLoad is { } load)
        {
            context.Response.Headers["x-load"] = load;
        }

        string path = context.Request.Path.Value ?? "/";
        if (path.StartsWith("/status/", StringComparison.Ordinal))
        {
            context.Response.StatusCode = int.Parse(path["/status/".Length..], System.Globalization.CultureInfo.InvariantCulture);
            await context.Response.WriteAsync(Name);
            return;
        }

        if (path == "/stream")
        {
            Task gate = Volatile.Read(ref _streamGate).Task;
            await context.Response.WriteAsync(Name + ":");
            await context.Response.Body.FlushAsync();
            await gate.WaitAsync(TimeSpan.FromSeconds(10), context.RequestAborted);
            await context.Response.WriteAsync("end");
            return;
        }

        if (path == "/hold")
        {
            Task gate = Volatile.Read(ref _streamGate).Task;
            _holdArrived.TrySetResult();
            await gate.WaitAsync(TimeSpan.FromSeconds(10), context.RequestAborted);
            await context.Response.WriteAsync(Name);
            return;
        }

        if (path == "/redirect")
        {
            context.Response.Redirect(context.Request.Query["to"].ToString());
            return;
        }

        if (path.StartsWith("/sized/", StringComparison.Ordinal))
        {
            int size = int.Parse(path["/sized/".Length..], System.Globalization.CultureInfo.InvariantCulture);
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = size;
            await context.Response.Body.WriteAsync(new string('x', size).Select(c => (byte)c).ToArray());
            return;
        }

        await context.Response.WriteAsync(Name);
    }
}
