using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace LockFree.Balancing.Http.Tests;

/// <summary>Metrics of the non-DI path (the process-wide meter) read with MetricCollector, log events with a capturing logger.</summary>
public sealed class ObservabilityTests
{
    [Fact]
    public async Task Metrics_WithoutDi_PicksActiveAndEndpointsOnTheProcessWideMeter()
    {
        int dead = Cluster.RefusingPort();
        await using Cluster cluster = await Cluster.StartAsync(2, null, dead);
        Meter meter = BalancingMetrics.Shared.Meter;
        Assert.Null(meter.Scope); // not a container's: it lives as long as the process
        using var picks = new MetricCollector<long>(meter, BalancingMetrics.PicksName);
        using var active = new MetricCollector<long>(meter, BalancingMetrics.ActiveRequestsName);
        using var endpoints = new MetricCollector<int>(meter, BalancingMetrics.EndpointsName);

        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions
        {
            PortName = "http",
            Picker = BalancingPicker.RoundRobin,
            OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1 },
        });
        Assert.Same(BalancingMetrics.Shared, balancing.Metrics);
        using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri, Timeout = Cluster.WaitLimit };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());
        for (int i = 0; i < 6; i++)
        {
            _ = await client.GetStringAsync("who", Cluster.Limit());
        }

        using HttpResponseMessage open = await client.GetAsync("stream", HttpCompletionOption.ResponseHeadersRead, Cluster.Limit());
        endpoints.RecordObservableInstruments();

        var picked = picks.GetMeasurementSnapshot();
        Assert.Equal(8, picked.Count); // 7 requests, plus the retry after the refused connection
        Assert.Contains(picked, p => (string?)p.Tags["lockfree.pick.outcome"] == "home");
        Assert.All(picked, p =>
        {
            Assert.Equal("round_robin", p.Tags["lockfree.picker"]);
            // A round-robin turn that lands on the ejected endpoint moves on: the core reports that as overflow.
            Assert.Contains((string?)p.Tags["lockfree.pick.outcome"], new[] { "home", "overflow" });
            Assert.Equal("shop", p.Tags["k8s.namespace.name"]);
            Assert.Equal(["k8s.namespace.name", "k8s.service.name", "lockfree.pick.outcome", "lockfree.picker", "server.address"], p.Tags.Keys.Order());
        });
        Assert.Equal(1, active.GetMeasurementSnapshot().Sum(m => m.Value)); // the open stream
        var states = endpoints.GetMeasurementSnapshot();
        Assert.Equal(2, states.Single(r => (string?)r.Tags["lockfree.endpoint.state"] == "ready").Value);
        Assert.Equal(1, states.Single(r => (string?)r.Tags["lockfree.endpoint.state"] == "ejected").Value);
        Assert.Equal(0, states.Single(r => (string?)r.Tags["lockfree.endpoint.state"] == "draining").Value);
    }

    [Fact]
    public async Task Metrics_NoEndpoint_CountsAPickWithOutcomeNone()
    {
        await using Cluster cluster = await Cluster.StartAsync(0);
        using var picks = new MetricCollector<long>(BalancingMetrics.Shared.Meter, BalancingMetrics.PicksName);
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions { PortName = "http" });
        using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());

        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("who", Cluster.Limit()));

        var none = Assert.Single(picks.GetMeasurementSnapshot());
        Assert.Equal("none", none.Tags["lockfree.pick.outcome"]);
        Assert.Equal("web.shop", none.Tags["server.address"]);
    }

    [Fact]
    public async Task Logs_StartupChangesRetriesAndEjections_WithEventIdsInRange()
    {
        int dead = Cluster.RefusingPort();
        await using Cluster cluster = await Cluster.StartAsync(1, null, dead);
        using var logging = new FakeLoggerProvider();
        using ILoggerFactory factory = LoggerFactory.Create(b => b.AddProvider(logging).SetMinimumLevel(LogLevel.Debug));
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions
        {
            PortName = "http",
            Picker = BalancingPicker.RoundRobin,
            OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1 },
        }, factory);
        using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri, Timeout = Cluster.WaitLimit };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());
        for (int i = 0; i < 4; i++)
        {
            _ = await client.GetStringAsync("who", Cluster.Limit());
        }

        IReadOnlyList<FakeLogRecord> logs = logging.Collector.GetSnapshot();
        Assert.All(logs, e => Assert.InRange(e.Id.Id, 200, 299));
        Assert.Contains(logs, e => e.Id.Id == 207 && e.Message.Contains("web.shop:http", StringComparison.Ordinal));
        Assert.Contains(logs, e => e.Id.Id == 201 && e.Message.Contains("2 endpoints", StringComparison.Ordinal));
        Assert.Contains(logs, e => e.Id.Id == 202 && e.Level == LogLevel.Warning && e.Message.Contains(":" + dead, StringComparison.Ordinal));
        Assert.Contains(logs, e => e.Id.Id == 203 && e.Message.Contains("ConnectionError", StringComparison.Ordinal));
    }
}
