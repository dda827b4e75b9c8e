using System.Net;
using Grpc.Core;
using LockFree.Balancing.Benchmarks.Protos;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Benchmarks.Grpc;

/// <summary>A gRPC "pod": Grpc.AspNetCore's Echo service on Kestrel, plaintext HTTP/2 on 127.0.0.1, answering with its name.</summary>
internal sealed class GrpcBenchPod : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcBenchPod(WebApplication app, string name, int port)
    {
        _app = app;
        Name = name;
        Port = port;
    }

    public string Name { get; }

    public int Port { get; }

    public static async Task<GrpcBenchPod> StartAsync(string name, CancellationToken cancellationToken = default)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new PodName(name));
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        WebApplication app = builder.Build();
        app.MapGrpcService<EchoService>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new GrpcBenchPod(app, name, address.Port);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private sealed record PodName(string Value);

    private sealed class EchoService(PodName name) : Echo.EchoBase
    {
        private readonly WhoReply _reply = new() { Pod = name.Value };

        public override Task<WhoReply> Who(WhoRequest request, ServerCallContext context) => Task.FromResult(_reply);
    }
}
