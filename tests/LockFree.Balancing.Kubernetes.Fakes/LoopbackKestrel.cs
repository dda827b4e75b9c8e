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
    public static async Task<(WebApplication App, Uri Address)> StartAsync(RequestDelegate handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        WebApplication app = builder.Build();
        app.Run(handler);
        await app.StartAsync(cancellationToken);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address + "/"));
    }
}
