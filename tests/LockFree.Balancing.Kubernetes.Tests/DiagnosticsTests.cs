using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Reflection;
using LockFree.Balancing.Kubernetes.Diagnostics;
using LockFree.Balancing.Kubernetes.Fakes;
using Microsoft.Extensions.Logging;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests;

/// <summary>Runs alone: a <see cref="MeterListener"/> sees every watcher in the process, so no other test may run beside these.</summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone
{
}

/// <summary>Metrics through <see cref="MeterListener"/> and logs through a capturing <see cref="ILoggerProvider"/>.</summary>
[Collection(nameof(RunsAlone))]
public sealed class DiagnosticsTests : IAsyncLifetime, IDisposable
{
    private const string Secret = "super-secret-token-0123";
    private static readonly ServiceReference Web = ServiceReference.Parse("kubernetes:///web.shop:http");
    private readonly ConcurrentQueue<(string Instrument, string? Unit, double Value, Dictionary<string, object?> Tags)> _measurements = new();
    private readonly ConcurrentQueue<(EventId Id, LogLevel Level, string Message)> _logs = new();
    private readonly MeterListener _listener = new();
    private FakeApiServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeApiServer.StartAsync();
        _server.SetList("100", Slice("web-a", "90", "IPv4", HttpPort(8080), Endpoint("10.0.0.1"), Endpoint("10.0.0.2")));
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "LockFree.Balancing" && instrument.Name.StartsWith("lockfree.kubernetes.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    public async Task DisposeAsync()
    {
        _listener.Dispose();
        await _server.DisposeAsync();
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            map[tag.Key] = tag.Value;
        }

        _measurements.Enqueue((instrument.Name, instrument.Unit, value, map));
    }

    private static CancellationToken Limit() => new CancellationTokenSource(TimeSpan.FromSeconds(15)).Token;

    private KubernetesEndpointWatcher CreateWatcher(ILoggerFactory? loggers = null, Uri? server = null) => new(Web, _ => { }, new KubernetesWatcherOptions
    {
        ApiServer = server ?? _server.BaseAddress,
        BearerToken = Secret,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(5),
        Random = new Random(7),
        LoggerFactory = loggers,
    });

    private List<(string Instrument, string? Unit, double Value, Dictionary<string, object?> Tags)> Measured(string instrument)
        => [.. _measurements.Where(m => m.Instrument == instrument)];

    [Fact]
    public async Task Metrics_ErrorsRelistsRestartsAndSyncAge_CarryServiceTags()
    {
        _server.FailNextWatch(500, Status(500, "InternalError", "etcd is sad"));
        await using KubernetesEndpointWatcher watcher = CreateWatcher();

        watcher.StartBackgroundSync();
        WatchConnection first = await _server.NextWatchAsync(); // the second watch: the first got the 500
        first.Send(Gone());
        await _server.NextWatchAsync();
        await watcher.WaitForStatusAsync(s => s.ListCount == 2, Limit());
        _listener.RecordObservableInstruments();

        var errors = Measured("lockfree.kubernetes.api.errors");
        Assert.Contains(errors, m => Equals(m.Tags.GetValueOrDefault("http.response.status_code"), 500));
        Assert.Contains(errors, m => Equals(m.Tags.GetValueOrDefault("http.response.status_code"), 410));
        Assert.All(errors, m => Assert.Equal("{error}", m.Unit));
        var relists = Measured("lockfree.kubernetes.relists");
        Assert.Single(relists);
        Assert.Equal("{relist}", relists[0].Unit);
        var restarts = Measured("lockfree.kubernetes.watch.restarts");
        Assert.True(restarts.Count >= 2, $"restarts: {restarts.Count}");
        Assert.All(restarts, m => Assert.Equal("{restart}", m.Unit));
        var age = Measured("lockfree.kubernetes.sync.age");
        Assert.Contains(age, m => m.Unit == "s" && m.Value >= 0 && m.Value < 60);
        Assert.All(_measurements, m =>
        {
            Assert.Equal("shop", m.Tags["k8s.namespace.name"]);
            Assert.Equal("web", m.Tags["k8s.service.name"]);
        });
    }

    [Fact]
    public async Task Metrics_TransportError_TaggedWithErrorType()
    {
        await using KubernetesEndpointWatcher watcher = CreateWatcher(server: new Uri("http://127.0.0.1:1/"));

        await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));

        var error = Assert.Single(Measured("lockfree.kubernetes.api.errors"));
        Assert.Equal("HttpRequestException", error.Tags["error.type"]);
        Assert.False(error.Tags.ContainsKey("http.response.status_code"));
    }

    [Fact]
    public async Task Metrics_DisposedWatcher_NoLongerObserved()
    {
        KubernetesEndpointWatcher watcher = CreateWatcher();
        await watcher.SyncOnceAsync(Limit());
        _listener.RecordObservableInstruments();
        int whileAlive = Measured("lockfree.kubernetes.sync.age").Count;
        await watcher.DisposeAsync();
        _measurements.Clear();
        _listener.RecordObservableInstruments();

        // Watchers other tests left undisposed would still be observed: compare counts, not absolutes.
        Assert.True(whileAlive >= 1);
        Assert.Equal(whileAlive - 1, Measured("lockfree.kubernetes.sync.age").Count);
    }

    [Fact]
    public async Task Logs_ChangesErrorsAndCredentialRejections_NeverTheToken()
    {
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Trace).AddProvider(new CapturingProvider(_logs)));
        _server.RequiredToken = "another-token";
        await using KubernetesEndpointWatcher watcher = CreateWatcher(loggers);

        await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));
        _server.RequiredToken = null;
        await watcher.SyncOnceAsync(Limit());

        Assert.Contains(_logs, l => l.Id.Id == 123 && l.Level == LogLevel.Information);
        Assert.Contains(_logs, l => l.Id.Id == 110 && l.Level == LogLevel.Warning && l.Message.Contains("401", StringComparison.Ordinal));
        Assert.Contains(_logs, l => l.Id.Id == 100 && l.Level == LogLevel.Information && l.Message == "Service shop/web: published 2 endpoints (was 0), resourceVersion 100");
        Assert.All(_logs, l => Assert.DoesNotContain(Secret, l.Message, StringComparison.Ordinal));
        Assert.All(_logs, l => Assert.InRange(l.Id.Id, 100, 199));
    }

    [Fact]
    public void Log_EventIds_AreUniqueAndIn100To199()
    {
        int[] ids = [.. typeof(Log).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .Select(a => a.EventId)];

        Assert.NotEmpty(ids);
        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.All(ids, id => Assert.InRange(id, 100, 199));
    }

    private sealed class CapturingProvider(ConcurrentQueue<(EventId Id, LogLevel Level, string Message)> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Capturing(sink);

        public void Dispose()
        {
        }

        private sealed class Capturing(ConcurrentQueue<(EventId Id, LogLevel Level, string Message)> sink) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
                => sink.Enqueue((eventId, logLevel, formatter(state, exception)));
        }
    }
}
