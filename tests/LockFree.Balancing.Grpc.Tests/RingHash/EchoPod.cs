using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using LockFree.Balancing.Grpc.Tests.Protos;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Grpc.Tests.RingHash;

/// <summary>A "pod": a Grpc.AspNetCore server on 127.0.0.1 (plaintext HTTP/2, OS-chosen port) that answers with its name.</summary>
internal sealed class EchoPod : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EchoPod(string name, WebApplication app, int port)
    {
        Name = name;
        _app = app;
        Port = port;
    }

    public string Name { get; }

    public int Port { get; }

    public static async Task<EchoPod> StartAsync(string name, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new PodName(name));
        var app = builder.Build();
        app.MapGrpcService<EchoService>();
        await app.StartAsync(cancellationToken);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new EchoPod(name, app, address.Port);
    }

    /// <summary>A loopback port nothing listens on: connections to it are refused at once.</summary>
    public static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }

    internal sealed record PodName(string Value);

    internal sealed class EchoService(PodName name) : Echo.EchoBase
    {
        public override Task<WhoReply> Who(WhoRequest request, ServerCallContext context) =>
            Task.FromResult(new WhoReply { Pod = name.Value });
    }
}
