using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using System.Reflection;
using LockFree.Balancing.Kubernetes.Diagnostics;
using LockFree.Balancing.Kubernetes.Fakes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests;

/// <summary>Runs alone: the log assertions read events of every watcher the test creates, and the suite once shared one process-wide meter.</summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone
{
}

/// <summary>
/// Metrics through <see cref="MetricCollector{T}"/> on a meter from a real <see cref="IMeterFactory"/> (the test's own
/// container, so no other watcher in the process is seen), and logs through a capturing <see cref="ILoggerProvider"/>.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class DiagnosticsTests : IAsyncLifetime, IDisposable
{
    private const string Secret = "super-secret-token-0123";
    private static readonly ServiceReference Web = ServiceReference.Parse("kubernetes:///web.shop:http");
    private readonly ServiceProvider _container = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly IMeterFactory _meters;
    private readonly MetricCollector<long> _errors;
    private readonly MetricCollector<long> _relists;
    private readonly MetricCollector<long> _restarts;
    private readonly MetricCollector<double> _syncAge;
    private FakeApiServer _server = null!;

    public DiagnosticsTests()
    {
        _meters = _container.GetRequiredService<IMeterFactory>();
        _errors = new(_meters, KubernetesMetrics.MeterName, "lockfree.kubernetes.api.errors");
        _relists = new(_meters, KubernetesMetrics.MeterName, "lockfree.kubernetes.relists");
        _restarts = new(_meters, KubernetesMetrics.MeterName, "lockfree.kubernetes.watch.restarts");
        _syncAge = new(_meters, KubernetesMetrics.MeterName, "lockfree.kubernetes.sync.age");
    }

    public async Task InitializeAsync()
    {
        _server = await FakeApiServer.StartAsync();
        _server.SetList("100", Slice("web-a", "90", "IPv4", HttpPort(8080), Endpoint("10.0.0.1"), Endpoint("10.0.0.2")));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose()
    {
        _errors.Dispose();
        _relists.Dispose();
        _restarts.Dispose();
        _syncAge.Dispose();
        _container.Dispose();
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
        MeterFactory = _meters,
    });

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
        _syncAge.RecordObservableInstruments();

        var errors = _errors.GetMeasurementSnapshot();
        Assert.Contains(errors, m => Equals(m.Tags.GetValueOrDefault("http.response.status_code"), 500));
        Assert.Contains(errors, m => Equals(m.Tags.GetValueOrDefault("http.response.status_code"), 410));
        Assert.Equal("{error}", _errors.Instrument!.Unit);
        Assert.Single(_relists.GetMeasurementSnapshot());
        Assert.Equal("{relist}", _relists.Instrument!.Unit);
        var restarts = _restarts.GetMeasurementSnapshot();
        Assert.True(restarts.Count >= 2, $"restarts: {restarts.Count}");
        Assert.Equal("{restart}", _restarts.Instrument!.Unit);
        Assert.Equal("s", _syncAge.Instrument!.Unit);
        var age = Assert.Single(_syncAge.GetMeasurementSnapshot());
        Assert.InRange(age.Value, 0, 60);
        IEnumerable<IReadOnlyDictionary<string, object?>> all =
        [
            .. errors.Select(m => m.Tags), .. _relists.GetMeasurementSnapshot().Select(m => m.Tags),
            .. restarts.Select(m => m.Tags), age.Tags,
        ];
        Assert.All(all, tags =>
        {
            Assert.Equal("shop", tags["k8s.namespace.name"]);
            Assert.Equal("web", tags["k8s.service.name"]);
        });
    }

    [Fact]
    public async Task Metrics_TransportError_TaggedWithErrorType()
    {
        await using KubernetesEndpointWatcher watcher = CreateWatcher(server: new Uri("http://127.0.0.1:1/"));

        await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));

        var error = Assert.Single(_errors.GetMeasurementSnapshot());
        Assert.Equal("HttpRequestException", error.Tags["error.type"]);
        Assert.False(error.Tags.ContainsKey("http.response.status_code"));
    }

    [Fact]
    public async Task Metrics_DisposedWatcher_NoLongerObserved()
    {
        KubernetesEndpointWatcher watcher = CreateWatcher();
        await using KubernetesEndpointWatcher other = CreateWatcher();
        await watcher.SyncOnceAsync(Limit());
        await other.SyncOnceAsync(Limit());
        _syncAge.RecordObservableInstruments();
        Assert.Equal(2, _syncAge.GetMeasurementSnapshot().Count); // this container's meter: its two watchers only
        await watcher.DisposeAsync();
        _syncAge.Clear();
        _syncAge.RecordObservableInstruments();

        Assert.Single(_syncAge.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task Logs_ChangesErrorsAndCredentialRejections_NeverTheToken()
    {
        using var logs = new FakeLoggerProvider();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        _server.RequiredToken = "another-token";
        await using KubernetesEndpointWatcher watcher = CreateWatcher(loggers);

        await Assert.ThrowsAsync<KubernetesApiException>(() => watcher.SyncOnceAsync(Limit()));
        _server.RequiredToken = null;
        await watcher.SyncOnceAsync(Limit());

        IReadOnlyList<FakeLogRecord> records = logs.Collector.GetSnapshot();
        Assert.Contains(records, l => l.Id.Id == 123 && l.Level == LogLevel.Information);
        Assert.Contains(records, l => l.Id.Id == 110 && l.Level == LogLevel.Warning && l.Message.Contains("401", StringComparison.Ordinal));
        Assert.Contains(records, l => l.Id.Id == 100 && l.Level == LogLevel.Information && l.Message == "Service shop/web: published 2 endpoints (was 0), resourceVersion 100");
        Assert.All(records, l => Assert.DoesNotContain(Secret, l.Message, StringComparison.Ordinal));
        Assert.All(records, l => Assert.InRange(l.Id.Id, 100, 199));
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
}
