using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using LockFree.Balancing.Grpc.Tests.Protos;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Grpc.Tests;

/// <summary>
/// A pod stand-in: a Grpc.AspNetCore server on 127.0.0.1:0 (HTTP/2, plaintext or TLS) serving <c>Echo</c>. It answers
/// with its name and its own in-flight count, and records the highest in-flight count it ever saw.
/// </summary>
public sealed class Pod : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _inFlight;
    private int _maxInFlight;
    private int _calls;
    private int _stopped;

    private Pod(WebApplication app, string name, ConcurrentQueue<string> serverNames)
    {
        _app = app;
        Name = name;
        ServerNames = serverNames;
    }

    public string Name { get; }

    public int Port { get; private set; }

    public int InFlight => Volatile.Read(ref _inFlight);

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>When set, every Who call fails with this status (a broken pod behind a live socket).</summary>
    public StatusCode? FailWith { get; set; }

    /// <summary>The :authority of every call.</summary>
    public ConcurrentQueue<string> Authorities { get; } = new();

    /// <summary>The TLS server name (SNI) of every handshake.</summary>
    public ConcurrentQueue<string> ServerNames { get; }

    public static async Task<Pod> StartAsync(string name, X509Certificate2? certificate = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        Pod? pod = null;
        builder.Services.AddSingleton(_ => pod!);
        if (certificate is not null)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        var names = new ConcurrentQueue<string>();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            if (certificate is not null)
            {
                listen.UseHttps(https =>
                {
                    https.ServerCertificateSelector = (_, serverName) =>
                    {
                        names.Enqueue(serverName ?? "");
                        return certificate;
                    };
                });
            }
        }));
        WebApplication app = builder.Build();
        app.MapGrpcService<EchoService>();
        pod = new Pod(app, name, names);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        pod.Port = new Uri(address).Port;
        return pod;
    }

    /// <summary>A loopback port nothing listens on: connections to it are refused at once.</summary>
    public static int ClosedPort()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return ((System.Net.IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>Stops the pod at once: calls in progress are aborted (as when the process is killed).</summary>
    public async Task KillAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            using var now = new CancellationTokenSource();
            await now.CancelAsync();
            await _app.StopAsync(now.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        await _app.DisposeAsync();
    }

    internal int Enter()
    {
        Interlocked.Increment(ref _calls);
        int now = Interlocked.Increment(ref _inFlight);
        int max = Volatile.Read(ref _maxInFlight);
        while (now > max && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
        {
            max = Volatile.Read(ref _maxInFlight);
        }

        return now;
    }

    internal void Leave() => Interlocked.Decrement(ref _inFlight);

    internal void ResetMax() => Volatile.Write(ref _maxInFlight, InFlight);

    private sealed class EchoService(Pod pod) : Echo.EchoBase
    {
        public override async Task<WhoReply> Who(WhoRequest request, ServerCallContext context)
        {
            int inFlight = pod.Enter();
            try
            {
                pod.Authorities.Enqueue(context.Host);
                if (pod.FailWith is StatusCode failure)
                {
                    throw new RpcException(new Status(failure, pod.Name + " is broken"));
                }

                if (request.DelayMs > 0)
                {
                    await Task.Delay(request.DelayMs, context.CancellationToken);
                }

                return new WhoReply { Pod = pod.Name, InFlight = inFlight };
            }
            finally
            {
                pod.Leave();
            }
        }

        public override async Task Stream(StreamRequest request, IServerStreamWriter<WhoReply> responseStream, ServerCallContext context)
        {
            pod.Enter();
            try
            {
                for (int i = 0; i < request.Count; i++)
                {
                    await responseStream.WriteAsync(new WhoReply { Pod = pod.Name, InFlight = pod.InFlight }, context.CancellationToken);
                    if (request.IntervalMs > 0)
                    {
                        await Task.Delay(request.IntervalMs, context.CancellationToken);
                    }
                }
            }
            finally
            {
                pod.Leave();
            }
        }
    }
}
