using System.Net;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using LockFree.Balancing.Http;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// One GET through <see cref="KubernetesBalancingHandler"/> to a loopback Kestrel backend, against the same GET
/// through a plain <see cref="SocketsHttpHandler"/> to the same backend (the baseline) in the same run. The
/// difference is the handler's overhead: Service resolution, the pick, the URI rewrite, the Host header and,
/// with <see cref="LeaseRelease.ResponseEnd"/>, the content wrapper that holds the lease until the body is read.
/// Target (issue 5): at most 2 µs and 300 B more than the baseline.
/// </summary>
/// <remarks>
/// <para>
/// Category <c>Loopback</c>: the backend runs in this process, so each figure includes the server's work and the
/// sockets too (the same for every method), and on 2 cores their noise is several times the 2 µs being measured:
/// read the allocation column there, and the time difference only as a rough check. The fake API server feeds the
/// balancer once at setup and is idle while measuring. Both clients keep one pooled connection to the backend.
/// </para>
/// <para>
/// Category <c>InMemory</c> isolates the overhead: the same clients and handlers, but the innermost handler answers
/// at once from memory after reading what <see cref="SocketsHttpHandler"/> reads of the request (scheme, host,
/// port, path and query, the Host header), so a rewritten URI pays for the parts it computes lazily. No socket, no
/// server: the difference between <see cref="InMemoryBalanced"/> and <see cref="InMemoryPlain"/> is the
/// handler's cost alone.
/// </para>
/// </remarks>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class HttpHandlerBenchmarks : ISmokeChecked
{
    // One environment per process: the smoke runner creates an instance per method and never cleans up.
    private static readonly Lazy<Environment> Shared = new(Environment.Start);

    private Environment _env = null!;

    /// <summary>Starts (once per process) the backend, the fake API server and the clients, and waits for the first sync.</summary>
    [GlobalSetup]
    public void Setup() => _env = Shared.Value;

    /// <summary>The baseline: a plain <see cref="SocketsHttpHandler"/> straight to the backend.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Loopback")]
    public Task<int> PlainHandler() => SendAsync(_env.Plain);

    /// <summary>Through the balancing handler, lease held until the body is read (the default).</summary>
    [Benchmark]
    [BenchmarkCategory("Loopback")]
    public Task<int> BalancedReleaseAtResponseEnd() => SendAsync(_env.BalancedAtEnd);

    /// <summary>Through the balancing handler, lease released when the headers arrive (no content wrapper).</summary>
    [Benchmark]
    [BenchmarkCategory("Loopback")]
    public Task<int> BalancedReleaseAtHeaders() => SendAsync(_env.BalancedAtHeaders);

    /// <summary>The in-memory baseline: <see cref="HttpClient"/> straight to the in-memory answer, the pod's URL as its base address.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("InMemory")]
    public Task<int> InMemoryPlain() => SendAsync(_env.InMemoryPlain);

    /// <summary>The balancing handler (lease until the body is read) in front of the same in-memory answer.</summary>
    [Benchmark]
    [BenchmarkCategory("InMemory")]
    public Task<int> InMemoryBalanced() => SendAsync(_env.InMemoryBalanced);

    /// <inheritdoc/>
    public void CheckResult(string benchmark, object? result)
    {
        int length = result is Task<int> task ? task.GetAwaiter().GetResult() : -1;
        if (length != Environment.Body.Length)
        {
            throw new InvalidOperationException($"{benchmark} read {length} bytes; the backend sends {Environment.Body.Length}.");
        }
    }

    /// <inheritdoc/>
    public void CheckAfterCalls(string benchmark)
    {
        // Every lease was released: the handler's bookkeeping returned to zero.
        foreach (KubernetesBalancing balancing in new[] { _env.AtEnd, _env.AtHeaders })
        {
            long inFlight = balancing.Resolve(Environment.ServiceUri).Service.InFlight;
            if (inFlight != 0)
            {
                throw new InvalidOperationException($"{benchmark}: {inFlight} requests still in flight after the calls.");
            }
        }
    }

    private static async Task<int> SendAsync(HttpClient client)
    {
        using HttpResponseMessage response = await client.GetAsync("who").ConfigureAwait(false);
        byte[] body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        return response.StatusCode == HttpStatusCode.OK ? body.Length : -1;
    }

    private sealed class Environment
    {
        public const string Body = "b0";
        public static readonly Uri ServiceUri = new("http://web.shop/");

        public required HttpClient Plain { get; init; }

        public required HttpClient BalancedAtEnd { get; init; }

        public required HttpClient BalancedAtHeaders { get; init; }

        public required HttpClient InMemoryPlain { get; init; }

        public required HttpClient InMemoryBalanced { get; init; }

        public required KubernetesBalancing AtEnd { get; init; }

        public required KubernetesBalancing AtHeaders { get; init; }

        public static Environment Start() => StartAsync().GetAwaiter().GetResult();

        private static async Task<Environment> StartAsync()
        {
            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
            WebApplication backend = builder.Build();
            backend.Run(context => context.Response.WriteAsync(Body));
            await backend.StartAsync().ConfigureAwait(false);
            int port = new Uri(backend.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;

            FakeApiServer api = await FakeApiServer.StartAsync().ConfigureAwait(false);
            api.SetList("1", Slice("web-a", "1", "IPv4", HttpPort(port), Endpoint("127.0.0.1")));
            var registry = new KubernetesWatchRegistry(new Kubernetes.KubernetesWatcherOptions { ApiServer = api.BaseAddress });
            var atEnd = new KubernetesBalancing(registry, new KubernetesBalancingOptions { PortName = "http" });
            var atHeaders = new KubernetesBalancing(registry, new KubernetesBalancingOptions { PortName = "http", LeaseRelease = LeaseRelease.ResponseHeaders });
            using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await atEnd.WaitForEndpointsAsync(ServiceUri, ready.Token).ConfigureAwait(false);
            await atHeaders.WaitForEndpointsAsync(ServiceUri, ready.Token).ConfigureAwait(false);
            return new Environment
            {
                Plain = new HttpClient(new SocketsHttpHandler()) { BaseAddress = new Uri($"http://127.0.0.1:{port}/") },
                BalancedAtEnd = new HttpClient(atEnd.CreateHandler()) { BaseAddress = ServiceUri },
                BalancedAtHeaders = new HttpClient(atHeaders.CreateHandler()) { BaseAddress = ServiceUri },
                InMemoryPlain = new HttpClient(new InMemoryAnswer(port)) { BaseAddress = new Uri($"http://127.0.0.1:{port}/") },
                InMemoryBalanced = new HttpClient(atEnd.CreateHandler(new InMemoryAnswer(port))) { BaseAddress = ServiceUri },
                AtEnd = atEnd,
                AtHeaders = atHeaders,
            };
        }
    }

    /// <summary>The innermost handler of the in-memory pair: checks the request as a socket handler would read it, answers <see cref="Environment.Body"/>.</summary>
    private sealed class InMemoryAnswer(int port) : HttpMessageHandler
    {
        private static readonly byte[] Answer = System.Text.Encoding.ASCII.GetBytes(Environment.Body);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // What SocketsHttpHandler reads to choose the connection pool and write the request line and Host header.
            Uri uri = request.RequestUri!;
            bool right = uri.Scheme == Uri.UriSchemeHttp && uri.IdnHost == "127.0.0.1" && uri.Port == port
                && uri.PathAndQuery == "/who" && (request.Headers.Host ?? uri.Authority) is { Length: > 0 };
            var response = new HttpResponseMessage(right ? HttpStatusCode.OK : HttpStatusCode.BadRequest) { Content = new ByteArrayContent(Answer), RequestMessage = request };
            return Task.FromResult(response);
        }
    }
}
