using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>Starts a minimal, silent Kestrel app on 127.0.0.1 with a port the OS picks, serving one request delegate.</summary>
public static class LoopbackKestrel
{
    /// <summary>Starts the app; returns it (stop and dispose it when done) and its base address (<c>http://127.0.0.1:port/</c>).</summary>
    public static Task<(WebApplication App, Uri Address)> StartAsync(RequestDelegate handler, CancellationToken cancellationToken = default)
        => StartAsync(handler, configureListen: null, cancellationToken);

    /// <summary>Starts the app with <paramref name="configureListen"/> applied to its endpoint (TLS, protocols).</summary>
    public static async Task<(WebApplication App, Uri Address)> StartAsync(RequestDelegate handler, Action<Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions>? configureListen, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (configureListen is not null)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0, listen => configureListen?.Invoke(listen)));
        WebApplication app = builder.Build();
        app.Run(handler);
        await app.StartAsync(cancellationToken);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address + "/"));
    }
}
