using Xunit;
using Xunit.Abstractions;

namespace LockFree.Balancing.Http.Tests;

/// <summary>
/// Bytes allocated per request through the balancing handler against a plain SocketsHttpHandler to the same backend.
/// Both totals include the in-process Kestrel backend's allocations, which are the same for both paths; the
/// difference is the handler's (and its lease-holding content's) cost. The count is process-wide
/// (<see cref="GC.GetTotalAllocatedBytes"/>: an async request hops threads), so the class runs alone: another test class
/// running beside it put 307 B on a 300 B bound in a CI run.
/// </summary>
[Collection(nameof(AllocationMeasurement))]
public sealed class AllocationTests(ITestOutputHelper output)
{
    private const int Requests = 400;
    private const int Rounds = 5;

    // The target for the default transport: measured here (median of 5 rounds) about +30 B (ResponseHeaders)
    // and +200–280 B (ResponseEnd, chunked body: the lease-holding content), +10–60 B for a small body with
    // Content-Length (read in the handler, no wrapper). The other transport adds a Host header per request (about 280 B with what the socket
    // handler does for a request that carries headers): about +330 B and +500 B; its bound only catches a regression
    // such as a per-request Uri, dictionary, closure or buffer. bench/HttpHandlerBenchmarks.cs measures precisely.
#if DEBUG
    // A Debug build compiles every async method's state machine as a class, allocated on each call even when it
    // completes at once, so nothing is pooled: about +520 B here (the wrapper's copy adds its own). The 300 B target
    // is for the Release build users ship; .ci/run runs these tests in Release as well.
    private const long PodConnectionsMaxExtraBytes = 640;
#else
    private const long PodConnectionsMaxExtraBytes = 300;
#endif
    private const long InnerHandlerMaxExtraBytes = 1024;
    private const long MeasurementNoiseBytes = 128;

    [Theory]
    [InlineData(BalancingTransport.PodConnections, LeaseRelease.ResponseEnd, "who")]
    [InlineData(BalancingTransport.PodConnections, LeaseRelease.ResponseHeaders, "who")]
    [InlineData(BalancingTransport.PodConnections, LeaseRelease.ResponseEnd, "sized/64")]
    [InlineData(BalancingTransport.InnerHandler, LeaseRelease.ResponseEnd, "who")]
    [InlineData(BalancingTransport.InnerHandler, LeaseRelease.ResponseHeaders, "who")]
    public async Task Handler_AllocatesABoundedAmountMoreThanAPlainHandler(BalancingTransport transport, LeaseRelease release, string path)
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions { PortName = "http", LeaseRelease = release, Transport = transport });
        using var balanced = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri };
        using var plain = new HttpClient(new SocketsHttpHandler()) { BaseAddress = new Uri($"http://127.0.0.1:{cluster.Backends[0].Port}/") };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());

        // Interleaved rounds, the median of the per-round differences kept: each total moves by about ±100 B/request
        // from round to round (timers, the pool, a collection), in either client, so the lowest of each (as before)
        // could pair a low plain round with a normal balanced one and report noise as the handler's cost.
        long[] extras = new long[Rounds];
        for (int round = 0; round < Rounds; round++)
        {
            long p = await BytesPerRequestAsync(plain, path);
            long b = await BytesPerRequestAsync(balanced, path);
            output.WriteLine($"round {round}: plain {p} B/request, balanced {b} B/request, extra {b - p} B");
            extras[round] = b - p;
        }

        Array.Sort(extras);
        long extra = extras[Rounds / 2];
        output.WriteLine($"{transport}, {release}, /{path}: median extra: {extra} B/request");
        // Below zero only by the noise of the two totals (the pooled state machine leaves the handler close to nothing).
        // The bound is the target plus the noise: BenchmarkDotNet measures the default transport at +257 B (ResponseEnd) and
        // +52 B (ResponseHeaders) in docs/results/benchmarkdotnet/*HttpHandlerBenchmarks*; this test's median moves
        // between about 200 and 280 B for the first, so it catches a regression of a per-request object, not 10 B.
        long max = (transport == BalancingTransport.PodConnections ? PodConnectionsMaxExtraBytes : InnerHandlerMaxExtraBytes) + MeasurementNoiseBytes;
        Assert.InRange(extra, -MeasurementNoiseBytes, max);
        Assert.Equal(2 * Rounds * (Requests + 20), cluster.Backends[0].Hits); // both clients reached the one backend every time
    }

    [Fact]
    public async Task Handler_PickSpanSampled_AddsTheSpanToEachRequest()
    {
        // What an application that adds our source pays per request: the pick span (the Activity with its ids, the list
        // nodes of its five attributes, the boxed port) and the async-local writes that make it current and then restore
        // the caller's. Measured a median of +718 B per request (rounds from +450 to +800, default transport, no parent
        // span: the span is a root) against the same client with nobody listening; BenchmarkDotNet's HttpHandlerBenchmarks is the
        // precise figure. The bound catches a second object per pick or a leak, not tens of bytes.
        await using Cluster cluster = await Cluster.StartAsync(1);
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions { PortName = "http" });
        using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());
        long spans = 0;

        long[] extras = new long[Rounds];
        for (int round = 0; round < Rounds; round++)
        {
            long quiet = await BytesPerRequestAsync(client, "who");
            long traced;
            using (var listener = new System.Diagnostics.ActivityListener
            {
                ShouldListenTo = source => source.Name == PickTracing.SourceName,
                Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _ => Interlocked.Increment(ref spans),
            })
            {
                System.Diagnostics.ActivitySource.AddActivityListener(listener);
                traced = await BytesPerRequestAsync(client, "who");
            }

            output.WriteLine($"round {round}: quiet {quiet} B/request, traced {traced} B/request, extra {traced - quiet} B");
            extras[round] = traced - quiet;
        }

        Array.Sort(extras);
        long extra = extras[Rounds / 2];
        output.WriteLine($"pick span sampled: median extra {extra} B/request");
        Assert.Equal(Rounds * (Requests + 20), Interlocked.Read(ref spans)); // one span per request of the traced halves
        Assert.InRange(extra, 300, 1200);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Metrics_RecordingAPick_AllocatesNothing_WithOrWithoutAListener(bool listened)
    {
        // The recording calls of one request (pick, active +1, active -1 and duration with a status and an error
        // type), exactly as the handler makes them, on this thread: every instrument enabled or none. With a
        // listener, TagList keeps its tags inline and status codes and ports are boxed once.
        await using Cluster cluster = await Cluster.StartAsync(1);
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions { PortName = "http" });
        ServiceTarget target = balancing.Resolve(Cluster.ServiceUri);
        BalancingMetrics metrics = balancing.Metrics;
        long measurements = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, metrics.Meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref measurements));
        listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref measurements));
        if (listened)
        {
            listener.Start();
        }

        string method = BalancingMetrics.MethodTagValue(HttpMethod.Get);
        void Request(int i)
        {
            metrics.RecordPick(target, "round_robin", "home");
            RequestMeasure measure = metrics.Start(target, method);
            BalancingMetrics.End(ref measure, i % 2 == 0 ? 200 : 503, null);
        }

        for (int i = 0; i < 1000; i++)
        {
            Request(i); // warm up (tiered JIT, the status code tables)
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            Request(i);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(listened ? 4L * 11_000 : 0, Interlocked.Read(ref measurements));
    }

    private static async Task<long> BytesPerRequestAsync(HttpClient client, string path)
    {
        for (int i = 0; i < 20; i++)
        {
            await SendAsync(client, path); // warm the connection and the code paths
        }

        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < Requests; i++)
        {
            await SendAsync(client, path);
        }

        return (GC.GetTotalAllocatedBytes(precise: true) - before) / Requests;
    }

    private static async Task SendAsync(HttpClient client, string path)
    {
        using HttpResponseMessage response = await client.GetAsync(path, Cluster.Limit());
        _ = await response.Content.ReadAsByteArrayAsync(Cluster.Limit());
    }
}

/// <summary>Test classes that count the process's allocations: xUnit runs this collection after the others, alone.</summary>
[CollectionDefinition(nameof(AllocationMeasurement), DisableParallelization = true)]
public sealed class AllocationMeasurement;
