using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Xunit;

namespace LockFree.Balancing.Http.Tests;

/// <summary>
/// The handler's instruments through the DI path: a <c>LockFree.Balancing.Http</c> meter from the container's
/// <see cref="IMeterFactory"/>, read with <see cref="MetricCollector{T}"/>, against real Kestrel pods on loopback.
/// </summary>
public sealed class HttpClientMetricsTests
{
    [Fact]
    public async Task Metrics_DiPath_NamesUnitsAndTagsFollowTheConventions()
    {
        await using Cluster cluster = await Cluster.StartAsync(2);
        await using ServiceProvider provider = Container(cluster);
        using Collectors metrics = new(provider.GetRequiredService<IMeterFactory>());
        HttpClient client = await ClientAsync(provider);

        for (int i = 0; i < 4; i++)
        {
            _ = await client.GetStringAsync("who", Cluster.Limit());
        }

        using (HttpResponseMessage failed = await client.GetAsync("status/503", Cluster.Limit()))
        {
            Assert.Equal(503, (int)failed.StatusCode);
        }

        metrics.Endpoints.RecordObservableInstruments();

        Assert.Equal("{pick}", metrics.Picks.Instrument!.Unit);
        Assert.IsType<Counter<long>>(metrics.Picks.Instrument);
        Assert.Equal("{request}", metrics.Active.Instrument!.Unit);
        Assert.IsType<UpDownCounter<long>>(metrics.Active.Instrument);
        Assert.Equal("s", metrics.Duration.Instrument!.Unit);
        Assert.IsType<Histogram<double>>(metrics.Duration.Instrument);

        var picks = metrics.Picks.GetMeasurementSnapshot();
        Assert.Equal(5, picks.Count);
        Assert.All(picks, p =>
        {
            Assert.Equal(1, p.Value);
            Assert.Equal("round_robin", p.Tags["lockfree.picker"]);
            Assert.Equal("home", p.Tags["lockfree.pick.outcome"]);
            Assert.Equal("web.shop", p.Tags["server.address"]);
            Assert.Equal("shop", p.Tags["k8s.namespace.name"]);
            Assert.Equal("web", p.Tags["k8s.service.name"]);
        });

        var durations = metrics.Duration.GetMeasurementSnapshot();
        Assert.Equal(5, durations.Count);
        Assert.All(durations, d =>
        {
            Assert.InRange(d.Value, 0, Cluster.WaitLimit.TotalSeconds);
            Assert.Equal("GET", d.Tags["http.request.method"]);
            Assert.Equal("web.shop", d.Tags["server.address"]);
            Assert.Equal(80, d.Tags["server.port"]);
        });
        Assert.Equal(4, durations.Count(d => (int)d.Tags["http.response.status_code"]! == 200 && !d.Tags.ContainsKey("error.type")));
        var error = Assert.Single(durations, d => d.Tags.ContainsKey("error.type"));
        Assert.Equal("503", error.Tags["error.type"]);
        Assert.Equal(503, error.Tags["http.response.status_code"]);

        var active = metrics.Active.GetMeasurementSnapshot();
        Assert.Equal(10, active.Count); // +1 at each pick, -1 at each release
        Assert.Equal(0, active.Sum(m => m.Value));

        var endpoints = metrics.Endpoints.GetMeasurementSnapshot();
        Assert.All(endpoints, e => Assert.Equal("web", e.Tags["lockfree.http.client.name"]));
        Assert.Equal(2, endpoints.Single(e => (string?)e.Tags["lockfree.endpoint.state"] == "ready").Value);
        Assert.Equal(0, endpoints.Single(e => (string?)e.Tags["lockfree.endpoint.state"] == "ejected").Value);

        metrics.AssertNoPodInAnyTag(cluster);
    }

    [Fact]
    public async Task Metrics_TwoNamedClientsOnOneService_ReportEachClientsEndpointsAsItsOwnSeries()
    {
        // Each named client has its own balancer (and ejections): without the client's name their gauge series had
        // the same attributes, and an exporter kept one of them.
        int dead = Cluster.RefusingPort();
        await using Cluster cluster = await Cluster.StartAsync(2, null, dead);
        var services = new ServiceCollection();
        services.AddKubernetesWatchRegistry(o => o.ApiServer = cluster.Server.BaseAddress);
        foreach (string name in new[] { "orders", "reports" })
        {
            services.AddHttpClient(name, c =>
            {
                c.BaseAddress = Cluster.ServiceUri;
                c.Timeout = Cluster.WaitLimit;
            }).AddKubernetesBalancing(o =>
            {
                o.PortName = "http";
                o.Picker = BalancingPicker.RoundRobin;
                o.OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1 };
            });
        }

        await using ServiceProvider provider = services.BuildServiceProvider();
        using Collectors metrics = new(provider.GetRequiredService<IMeterFactory>());
        await provider.GetKubernetesBalancing("orders").WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());
        await provider.GetKubernetesBalancing("reports").WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());
        var factory = provider.GetRequiredService<IHttpClientFactory>();

        // Only "orders" meets the refusing pod (and ejects it); both clients balance the Service.
        for (int i = 0; i < 4; i++)
        {
            _ = await factory.CreateClient("orders").GetStringAsync("who", Cluster.Limit());
        }

        _ = await factory.CreateClient("reports").GetStringAsync("who", Cluster.Limit());
        metrics.Endpoints.RecordObservableInstruments();

        var series = metrics.Endpoints.GetMeasurementSnapshot();
        Assert.Equal(6, series.Count);
        Assert.Equal(6, series.Select(m => string.Join(",", m.Tags.OrderBy(t => t.Key).Select(t => $"{t.Key}={t.Value}"))).Distinct().Count());
        Assert.All(series, m => Assert.Equal(["k8s.namespace.name", "k8s.service.name", "lockfree.endpoint.state", "lockfree.http.client.name"], m.Tags.Keys.Order()));
        int Count(string client, string state)
            => series.Single(m => (string?)m.Tags["lockfree.http.client.name"] == client && (string?)m.Tags["lockfree.endpoint.state"] == state).Value;
        Assert.Equal((2, 1), (Count("orders", "ready"), Count("orders", "ejected")));
        Assert.Equal(3, Count("reports", "ready") + Count("reports", "ejected"));
        Assert.Equal(0, Count("orders", "draining") + Count("reports", "draining"));
    }

    [Fact]
    public async Task Metrics_ConnectionRefused_FailedTryHasErrorType_AndTheRetryIsAnotherPick()
    {
        int dead = Cluster.RefusingPort();
        await using Cluster cluster = await Cluster.StartAsync(1, null, dead);
        await using ServiceProvider provider = Container(cluster);
        using Collectors metrics = new(provider.GetRequiredService<IMeterFactory>());
        HttpClient client = await ClientAsync(provider);

        // Round robin over two endpoints (no ejection): at least one of two requests lands on the refusing one
        // first and is retried on the other; the retry's pick advances the cycle too.
        Assert.Equal("b0", await client.GetStringAsync("who", Cluster.Limit()));
        Assert.Equal("b0", await client.GetStringAsync("who", Cluster.Limit()));

        var durations = metrics.Duration.GetMeasurementSnapshot();
        var refused = durations.Where(d => d.Tags.ContainsKey("error.type")).ToArray();
        Assert.InRange(refused.Length, 1, 2);
        Assert.Equal(2 + refused.Length, durations.Count); // one try per pick: the two that answered, and the refused ones
        Assert.Equal(durations.Count, metrics.Picks.GetMeasurementSnapshot().Count);
        Assert.All(refused, r =>
        {
            Assert.Equal("connection_error", r.Tags["error.type"]);
            Assert.False(r.Tags.ContainsKey("http.response.status_code"));
        });
        Assert.Equal(2, durations.Count(d => (int?)d.Tags.GetValueOrDefault("http.response.status_code") == 200));
        Assert.Equal(0, metrics.Active.GetMeasurementSnapshot().Sum(m => m.Value));
        metrics.AssertNoPodInAnyTag(cluster, dead);
    }

    [Fact]
    public async Task ActiveRequests_BodyStillOpen_CountsOne_BackToZeroWhenDisposed()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        await using ServiceProvider provider = Container(cluster);
        using Collectors metrics = new(provider.GetRequiredService<IMeterFactory>());
        HttpClient client = await ClientAsync(provider);

        HttpResponseMessage open = await client.GetAsync("stream", HttpCompletionOption.ResponseHeadersRead, Cluster.Limit());
        Assert.Equal(1, metrics.Active.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Empty(metrics.Duration.GetMeasurementSnapshot()); // the try holds its pod until the body ends

        open.Dispose();

        Assert.Equal(0, metrics.Active.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Single(metrics.Duration.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task ActiveRequests_ListenerAttachedMidRequest_RecordsNoUnmatchedDecrement()
    {
        // The -1 at release must match a +1 at the pick: a try that started unobserved ends unobserved.
        await using Cluster cluster = await Cluster.StartAsync(1);
        await using ServiceProvider provider = Container(cluster);
        HttpClient client = await ClientAsync(provider);
        HttpResponseMessage open = await client.GetAsync("stream", HttpCompletionOption.ResponseHeadersRead, Cluster.Limit());
        using Collectors metrics = new(provider.GetRequiredService<IMeterFactory>());

        open.Dispose();
        _ = await client.GetStringAsync("who", Cluster.Limit());

        Assert.Equal([1L, -1L], metrics.Active.GetMeasurementSnapshot().Select(m => m.Value)); // the second request only
        Assert.Single(metrics.Duration.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task Response_ReleasedAfterTheContainerIsDisposed_DoesNotThrow()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        ServiceProvider provider = Container(cluster);
        HttpClient client = await ClientAsync(provider);
        using Collectors metrics = new(provider.GetRequiredService<IMeterFactory>());
        HttpResponseMessage open = await client.GetAsync("stream", HttpCompletionOption.ResponseHeadersRead, Cluster.Limit());
        Assert.Equal(1, metrics.Active.GetMeasurementSnapshot().Sum(m => m.Value));

        await provider.DisposeAsync(); // the meter goes with it, while the response still holds its lease
        open.Dispose();
        open.Dispose();

        Assert.Equal(1, metrics.Active.GetMeasurementSnapshot().Sum(m => m.Value)); // nothing recorded on the disposed meter
    }

    [Fact]
    public async Task Metrics_TwoContainers_DoNotSeeEachOthersMeasurements()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        await using ServiceProvider first = Container(cluster);
        await using ServiceProvider second = Container(cluster);
        using Collectors firstMetrics = new(first.GetRequiredService<IMeterFactory>());
        using Collectors secondMetrics = new(second.GetRequiredService<IMeterFactory>());
        HttpClient firstClient = await ClientAsync(first);
        HttpClient secondClient = await ClientAsync(second);

        for (int i = 0; i < 3; i++)
        {
            _ = await firstClient.GetStringAsync("who", Cluster.Limit());
        }

        _ = await secondClient.GetStringAsync("who", Cluster.Limit());

        Assert.Equal(3, firstMetrics.Picks.GetMeasurementSnapshot().Count);
        Assert.Single(secondMetrics.Picks.GetMeasurementSnapshot());
        firstMetrics.Endpoints.RecordObservableInstruments();
        Assert.Equal(3, firstMetrics.Endpoints.GetMeasurementSnapshot().Count); // this container's one Service, three states
    }

    [Fact]
    public async Task PodHandlers_RuntimeHttpClientMetrics_GoToTheContainersMeterFactory()
    {
        // IHttpClientFactory gives its primary handler the container's IMeterFactory; with pod connections the
        // pods' SocketsHttpHandlers send instead, so they get it too: the runtime's own http.client.* land there.
        await using Cluster cluster = await Cluster.StartAsync(1);
        await using ServiceProvider provider = Container(cluster);
        using var runtime = new MetricCollector<double>(provider.GetRequiredService<IMeterFactory>(), "System.Net.Http", "http.client.request.duration");
        HttpClient client = await ClientAsync(provider);

        _ = await client.GetStringAsync("who", Cluster.Limit());

        var measured = Assert.Single(runtime.GetMeasurementSnapshot());
        Assert.Equal("web.shop", measured.Tags["server.address"]); // the request keeps the Service URL
    }

    [Fact]
    public async Task Meter_ContainerDisposed_IsDisposedWithIt()
    {
        await using Cluster cluster = await Cluster.StartAsync(1);
        ServiceProvider provider = Container(cluster);
        HttpClient client = await ClientAsync(provider);
        _ = await client.GetStringAsync("who", Cluster.Limit());
        Meter meter = provider.GetKubernetesBalancing("web").Metrics.Meter;
        Assert.Same(provider.GetRequiredService<IMeterFactory>(), meter.Scope);

        var published = new List<string>();
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (instrument, _) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    published.Add(instrument.Name);
                }
            };
            listener.Start();
        }

        await provider.DisposeAsync();

        Assert.Equal(
            ["lockfree.http.client.active_requests", "lockfree.http.client.endpoints", "lockfree.http.client.picks", "lockfree.http.client.request.duration"],
            published.Order());
        using var after = new MeterListener();
        bool seen = false;
        after.InstrumentPublished = (instrument, _) => seen |= ReferenceEquals(instrument.Meter, meter);
        after.Start();
        Assert.False(seen); // a disposed meter's instruments are no longer published
    }

    internal static ServiceProvider Container(Cluster cluster)
    {
        var services = new ServiceCollection();
        services.AddKubernetesWatchRegistry(o => o.ApiServer = cluster.Server.BaseAddress);
        services.AddHttpClient("web", c =>
        {
            c.BaseAddress = Cluster.ServiceUri;
            c.Timeout = Cluster.WaitLimit;
        }).AddKubernetesBalancing(o =>
        {
            o.PortName = "http";
            o.Picker = BalancingPicker.RoundRobin;
            o.RetryServerErrors = false;
        });
        return services.BuildServiceProvider();
    }

    internal static async Task<HttpClient> ClientAsync(ServiceProvider provider)
    {
        await provider.GetKubernetesBalancing("web").WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());
        return provider.GetRequiredService<IHttpClientFactory>().CreateClient("web");
    }

    /// <summary>One collector per instrument, on the container's meter.</summary>
    private sealed class Collectors(IMeterFactory factory) : IDisposable
    {
        public MetricCollector<long> Picks { get; } = new(factory, BalancingMetrics.MeterName, "lockfree.http.client.picks");

        public MetricCollector<long> Active { get; } = new(factory, BalancingMetrics.MeterName, "lockfree.http.client.active_requests");

        public MetricCollector<double> Duration { get; } = new(factory, BalancingMetrics.MeterName, "lockfree.http.client.request.duration");

        public MetricCollector<int> Endpoints { get; } = new(factory, BalancingMetrics.MeterName, "lockfree.http.client.endpoints");

        /// <summary>No attribute names a pod: neither its address nor any of its ports.</summary>
        public void AssertNoPodInAnyTag(Cluster cluster, params int[] deadPorts)
        {
            string[] ports = [.. cluster.Backends.Select(b => b.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)), .. deadPorts.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture))];
            IEnumerable<IReadOnlyDictionary<string, object?>> all =
            [
                .. Picks.GetMeasurementSnapshot().Select(m => m.Tags),
                .. Active.GetMeasurementSnapshot().Select(m => m.Tags),
                .. Duration.GetMeasurementSnapshot().Select(m => m.Tags),
                .. Endpoints.GetMeasurementSnapshot().Select(m => m.Tags),
            ];
            Assert.All(all, tags => Assert.All(tags, tag =>
            {
                string value = Convert.ToString(tag.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                Assert.DoesNotContain("127.0.0.1", value, StringComparison.Ordinal);
                Assert.DoesNotContain(value, ports);
            }));
        }

        public void Dispose()
        {
            Picks.Dispose();
            Active.Dispose();
            Duration.Dispose();
            Endpoints.Dispose();
        }
    }
}
