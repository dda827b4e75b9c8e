using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace LockFree.Balancing.Http.Tests;

/// <summary>Metrics read with a MeterListener, log events with a capturing logger.</summary>
public sealed class ObservabilityTests
{
    private sealed record Recorded(string Instrument, long Value, Dictionary<string, string?> Tags);

    [Fact]
    public async Task Metrics_PicksInFlightAndEndpoints_AreEmittedWithBoundedTags()
    {
        int dead = Cluster.RefusingPort();
        await using Cluster cluster = await Cluster.StartAsync(2, null, dead);
        var recorded = new ConcurrentQueue<Recorded>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "LockFree.Balancing" && instrument.Name.StartsWith("lockfree.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var map = new Dictionary<string, string?>();
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                map[tag.Key] = tag.Value?.ToString();
            }

            if (map.GetValueOrDefault("k8s.service.name") == "web")
            {
                recorded.Enqueue(new Recorded(instrument.Name, value, map));
            }
        }

        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        listener.Start();

        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions
        {
            PortName = "http",
            Picker = BalancingPicker.RoundRobin,
            OutlierEjection = new OutlierEjectionOptions { ConsecutiveFailures = 1 },
        });
        using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri, Timeout = Cluster.WaitLimit };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());
        for (int i = 0; i < 6; i++)
        {
            _ = await client.GetStringAsync("who", Cluster.Limit());
        }

        using HttpResponseMessage open = await client.GetAsync("stream", HttpCompletionOption.ResponseHeadersRead, Cluster.Limit());
        listener.RecordObservableInstruments();

        Recorded[] picks = [.. recorded.Where(r => r.Instrument == "lockfree.picks")];
        Assert.Equal(8, picks.Length); // 7 requests, plus the retry after the refused connection
        Assert.Contains(picks, p => p.Tags["lockfree.pick.outcome"] == "home");
        Assert.All(picks, p =>
        {
            Assert.Equal("round_robin", p.Tags["lockfree.picker"]);
            // A round-robin turn that lands on the ejected endpoint moves on: the core reports that as overflow.
            Assert.Contains(p.Tags["lockfree.pick.outcome"], new[] { "home", "overflow" });
            Assert.Equal("shop", p.Tags["k8s.namespace.name"]);
            Assert.Equal(["k8s.namespace.name", "k8s.service.name", "lockfree.pick.outcome", "lockfree.picker"], p.Tags.Keys.Order());
        });
        Assert.Equal(1, Assert.Single(recorded, r => r.Instrument == "lockfree.requests.in_flight").Value);
        Recorded[] endpoints = [.. recorded.Where(r => r.Instrument == "lockfree.endpoints")];
        Assert.Equal(2, endpoints.Single(r => r.Tags["lockfree.endpoint.state"] == "ready").Value);
        Assert.Equal(1, endpoints.Single(r => r.Tags["lockfree.endpoint.state"] == "ejected").Value);
        Assert.Equal(0, endpoints.Single(r => r.Tags["lockfree.endpoint.state"] == "draining").Value);
    }

    [Fact]
    public async Task Metrics_NoEndpoint_CountsAPickWithOutcomeNone()
    {
        await using Cluster cluster = await Cluster.StartAsync(0);
        long none = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "LockFree.Balancing" && instrument.Name == "lockfree.picks")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            bool web = false;
            bool isNone = false;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                web |= tag.Key == "k8s.service.name" && (string?)tag.Value == "web";
                isNone |= tag.Key == "lockfree.pick.outcome" && (string?)tag.Value == "none";
            }

            if (web && isNone)
            {
                Interlocked.Add(ref none, value);
            }
        });
        listener.Start();
        using var balancing = new KubernetesBalancing(cluster.Registry, new KubernetesBalancingOptions { PortName = "http" });
        using var client = new HttpClient(balancing.CreateHandler()) { BaseAddress = Cluster.ServiceUri };
        await balancing.WaitForEndpointsAsync(Cluster.ServiceUri, Cluster.Limit());

        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("who", Cluster.Limit()));

        Assert.True(Interlocked.Read(ref none) >= 1);
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
