using System.Diagnostics;
using System.Globalization;
using LockFree.Balancing.Kubernetes.Fakes;
using Xunit;
using Xunit.Abstractions;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests.Soak;

/// <summary>
/// The watcher against a fake API server that misbehaves at random (in-stream and HTTP 410, 500s, 429 with
/// Retry-After, cut connections, clean ends, silent streams, hung headers, byte-by-byte drips, invalid events,
/// compaction), in rounds: after every round of chaos the server behaves, and the watcher's set must equal the
/// server's within a bounded time. Throughout, the process never holds more than one watch.
/// </summary>
/// <remarks>
/// The fake server plays a real API server's part: every change gets a resourceVersion, LIST returns the current
/// state, and a WATCH resuming from a resourceVersion is first sent every change after it (or 410 when that version
/// was compacted away), so a change the watcher missed on a cut connection is delivered again, as Kubernetes does.
/// Opt-in length: see <see cref="SoakSettings"/> (<c>LOCKFREE_SOAK_SECONDS</c>).
/// </remarks>
[Collection(SoakGroup.Name)]
public sealed class WatcherSoakTests : IAsyncLifetime
{
    private static readonly TimeSpan ChaosRound = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan ConvergenceLimit = TimeSpan.FromSeconds(30);
    private static readonly ServiceReference Web = ServiceReference.Parse("web.shop:http");

    private readonly ITestOutputHelper _output;
    private readonly SortedDictionary<string, (string Address, bool? Ready)[]> _truth = new(StringComparer.Ordinal);
    private readonly List<(int ResourceVersion, string Line)> _log = [];
    private readonly Dictionary<string, int> _faults = new(StringComparer.Ordinal);
    private FakeApiServer _server = null!;
    private WatchConnection? _current;
    private int _resourceVersion = 100;
    private int _compactedBelow;
    private int _changes;

    public WatcherSoakTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public async Task InitializeAsync() => _server = await FakeApiServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Soak_ServerMisbehavingAtRandom_ConvergesWheneverItBehavesAndHoldsOneWatch()
    {
        var random = new Random(20261122);
        for (int s = 0; s < 4; s++)
        {
            _truth[SliceName(s)] = RandomEndpoints(random, s);
        }

        PublishList();
        using var handler = new WatchCountingHandler();
        var options = new KubernetesWatcherOptions
        {
            ApiServer = _server.BaseAddress,
            HttpHandler = handler,
            ListPageSize = 3,
            InitialBackoff = TimeSpan.FromMilliseconds(5),
            MaxBackoff = TimeSpan.FromMilliseconds(100),
            RequestTimeout = TimeSpan.FromSeconds(2),
            IdleTimeout = TimeSpan.FromSeconds(2),
            WatchTimeout = TimeSpan.FromSeconds(60),
            Random = new Random(7),
        };
        int publications = 0;
        await using var watcher = new KubernetesEndpointWatcher(Web, _ => Interlocked.Increment(ref publications), options);
        watcher.StartBackgroundSync();

        var clock = Stopwatch.StartNew();
        int rounds = 0;
        TimeSpan slowest = TimeSpan.Zero;
        do
        {
            await ChaosAsync(random, Min(ChaosRound, SoakSettings.Duration - clock.Elapsed));
            TimeSpan converged = await ConvergeAsync(watcher);
            slowest = converged > slowest ? converged : slowest;
            rounds++;
            Assert.True(handler.MaxOpen <= 1, $"the watcher held {handler.MaxOpen} watches at once");
        }
        while (clock.Elapsed < SoakSettings.Duration);

        _output.WriteLine(
            $"{clock.Elapsed.TotalSeconds:0.0} s, {rounds} chaos rounds each followed by convergence (slowest {slowest.TotalMilliseconds:0} ms), "
            + $"{_changes} changes, {handler.Watches} watches opened, at most {handler.MaxOpen} held at once, "
            + $"{_server.CountRequests("limit=3")} LIST pages, {publications} publications, {watcher.Status.ListCount} relists");
        _output.WriteLine("faults: " + string.Join(", ", _faults.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key}={f.Value}")));
        Assert.True(handler.MaxOpen <= 1, $"the watcher held {handler.MaxOpen} watches at once");
        Assert.True(_faults.Values.Sum() > 0, "no fault was injected: the soak tested nothing");

        // Disposal releases the last watch too: no response is left undisposed.
        await watcher.DisposeAsync();
        Assert.Equal(0, handler.Open);
    }

    private async Task ChaosAsync(Random random, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            await TakeNewestWatchAsync(_current is null ? TimeSpan.FromSeconds(3) : TimeSpan.FromMilliseconds(1));
            if (_current is not WatchConnection watch)
            {
                Count("no watch within 3 s (backoff, Retry-After or a hang in progress)");
                continue;
            }

            int actions = random.Next(1, 8);
            for (int i = 0; i < actions && _current is not null; i++)
            {
                Act(watch, random);
            }

            await Task.Yield();
        }
    }

    private void Act(WatchConnection watch, Random random)
    {
        switch (random.Next(16))
        {
            case <= 4:
                watch.Send(Change(random));
                break;
            case 5:
                Count("slow drip (one byte per chunk)");
                watch.SendByteByByte(Change(random));
                break;
            case 6:
                watch.Send(Bookmark(Rv(_resourceVersion)));
                break;
            case 7:
                // A change the watcher is never sent, then 410: only a relist can find it.
                Count("in-stream 410 after an unsent change");
                Change(random);
                watch.Send(Gone());
                watch.End();
                _current = null;
                break;
            case 8:
                Count("in-stream ERROR 500");
                watch.Send("{\"type\":\"ERROR\",\"object\":" + Status(500, "InternalError", "etcdserver: leader changed") + "}");
                watch.End();
                _current = null;
                break;
            case 9:
                Count("invalid event");
                watch.Send(random.Next(2) == 0
                    ? "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"web-00\"},\"endpoints\":[{\"conditions\":{\"ready\":\"yes\"}}]}}"
                    : "{\"type\":\"ADDED\",\"object\":{\"metadata\":");
                _current = null; // the watcher abandons this stream and relists
                break;
            case 10:
                Count("connection cut");
                watch.Abort();
                _current = null;
                break;
            case 11:
                Count("watch ended early");
                watch.End();
                _current = null;
                break;
            case 12:
                Count("silent stream (idle timeout)");
                _current = null; // never written to again: the watcher must notice and reconnect
                break;
            case 13:
                Count("compaction");
                _compactedBelow = _resourceVersion;
                watch.Abort();
                _current = null;
                break;
            default:
                FailNextRequest(random);
                watch.Abort();
                _current = null;
                break;
        }
    }

    private void FailNextRequest(Random random)
    {
        switch (random.Next(6))
        {
            case 0:
                Count("HTTP 500 on WATCH");
                _server.FailNextWatch(500, Status(500, "InternalError", "internal error"));
                break;
            case 1:
                Count("HTTP 410 on WATCH");
                _server.FailNextWatch(410, Status(410, "Expired", "too old resource version"));
                break;
            case 2:
                Count("HTTP 429 on WATCH with Retry-After");
                _server.FailNextWatch(429, Status(429, "TooManyRequests", "slow down"), retryAfter: "1");
                break;
            case 3:
                Count("WATCH headers never sent (request timeout)");
                _server.HangNextWatchHeaders();
                break;
            case 4:
                Count("HTTP 500 on LIST (with a 410 to force one)");
                _server.FailNextList(500, Status(500, "InternalError", "internal error"));
                _server.FailNextWatch(410, Status(410, "Expired", "too old resource version"));
                break;
            default:
                Count("HTTP 503 on LIST with Retry-After (with a 410 to force one)");
                _server.FailNextList(503, Status(503, "ServiceUnavailable", "unavailable"), retryAfter: "1");
                _server.FailNextWatch(410, Status(410, "Expired", "too old resource version"));
                break;
        }
    }

    /// <summary>The server behaves: every new watch is served from its resourceVersion; waits until the sets agree.</summary>
    private async Task<TimeSpan> ConvergeAsync(KubernetesEndpointWatcher watcher)
    {
        string[] expected = [.. _truth.Values.SelectMany(e => e).Where(e => e.Ready ?? true).Select(e => e.Address + ":8080").Distinct().Order(StringComparer.Ordinal)];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < ConvergenceLimit)
        {
            await TakeNewestWatchAsync(TimeSpan.FromMilliseconds(1));
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            try
            {
                await watcher.WaitForStatusAsync(_ => watcher.Endpoints.Select(e => e.Key).SequenceEqual(expected), wait.Token);
                return clock.Elapsed;
            }
            catch (OperationCanceledException) when (wait.IsCancellationRequested)
            {
                // Not yet: look for a newer watch to serve, then wait again.
            }
        }

        Assert.Fail(
            $"the watcher did not converge within {ConvergenceLimit.TotalSeconds} s of the server behaving: expected [{string.Join(' ', expected)}], "
            + $"has [{string.Join(' ', watcher.Endpoints.Select(e => e.Key))}]; status: stale {watcher.Status.IsStale}, rv {watcher.Status.ResourceVersion}, error {watcher.Status.LastError}");
        return clock.Elapsed;
    }

    /// <summary>Serves the newest watch the watcher opened, if any: replays what it missed, or 410 when compacted.</summary>
    private async Task TakeNewestWatchAsync(TimeSpan wait)
    {
        WatchConnection? newest = null;
        TimeSpan timeout = wait;
        while (true)
        {
            try
            {
                newest = await _server.NextWatchAsync(timeout);
                timeout = TimeSpan.FromMilliseconds(1); // drain: older ones were abandoned by the watcher
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        if (newest is null)
        {
            return;
        }

        int from = int.Parse(newest.ResourceVersion ?? "0", CultureInfo.InvariantCulture);
        if (from < _compactedBelow)
        {
            newest.Send(Gone());
            newest.End();
            _current = null;
            return;
        }

        foreach ((int resourceVersion, string line) in _log)
        {
            if (resourceVersion > from)
            {
                newest.Send(line);
            }
        }

        _current = newest;
    }

    /// <summary>Changes one slice (add, modify or delete), publishes the new LIST, logs the event and returns its line.</summary>
    private string Change(Random random)
    {
        _changes++;
        string name = SliceName(random.Next(6));
        string rv = Rv(++_resourceVersion);
        string line;
        if (_truth.ContainsKey(name) && random.Next(4) == 0)
        {
            _truth.Remove(name);
            line = Event("DELETED", Slice(name, rv, "IPv4", HttpPort(8080)));
        }
        else
        {
            string type = _truth.ContainsKey(name) ? "MODIFIED" : "ADDED";
            _truth[name] = RandomEndpoints(random, int.Parse(name.AsSpan(4), CultureInfo.InvariantCulture));
            line = Event(type, SliceJson(name, rv));
        }

        _log.Add((_resourceVersion, line));
        PublishList();
        return line;
    }

    private void PublishList() => _server.SetList(Rv(_resourceVersion), [.. _truth.Keys.Select(name => SliceJson(name, Rv(_resourceVersion)))]);

    private string SliceJson(string name, string rv)
        => Slice(name, rv, "IPv4", HttpPort(8080), [.. _truth[name].Select(e => Endpoint(e.Address, conditions: e.Ready switch
        {
            true => ReadyConditions,
            false => """{"ready":false,"serving":false,"terminating":true}""",
            null => """{"ready":null}""",
        }))]);

    private static (string Address, bool? Ready)[] RandomEndpoints(Random random, int slice)
        => [.. Enumerable.Range(1, random.Next(0, 5)).Select(i => ($"10.20.{slice}.{i + (random.Next(3) * 10)}", random.Next(6) switch { 0 => (bool?)false, 1 => null, _ => true }))];

    private static string SliceName(int index) => $"web-{index:00}";

    private static string Rv(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private void Count(string fault) => _faults[fault] = _faults.GetValueOrDefault(fault) + 1;
}
