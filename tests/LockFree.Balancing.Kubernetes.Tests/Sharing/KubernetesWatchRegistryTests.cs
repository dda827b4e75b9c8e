using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Sharing;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests.Sharing;

/// <summary>The shared watch registry against the fake API server. Every wait has a timeout; nothing sleeps.</summary>
public sealed class KubernetesWatchRegistryTests : IAsyncLifetime
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);
    private static readonly ServiceReference Web = ServiceReference.Parse("web.shop:http");

    private readonly ManualTimers _timers = new();
    private FakeApiServer _server = null!;
    private readonly System.Collections.Concurrent.ConcurrentBag<KubernetesEndpointWatcher> _watchers = [];
    private int _created;

    public async Task InitializeAsync()
    {
        _server = await FakeApiServer.StartAsync();
        _server.SetList("100", Slice("web-a", "90", "IPv4", HttpPort(8080), Endpoint("10.0.0.1"), Endpoint("10.0.0.2")));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private KubernetesWatchRegistry CreateRegistry(TimeSpan linger) => new(
        new KubernetesWatcherOptions
        {
            ApiServer = _server.BaseAddress,
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            MaxBackoff = TimeSpan.FromMilliseconds(100),
            Random = new Random(1),
        },
        linger,
        (service, onChanged, options) =>
        {
            Interlocked.Increment(ref _created);
            var watcher = new KubernetesEndpointWatcher(service, onChanged, options);
            _watchers.Add(watcher);
            return watcher;
        },
        _timers);

    private static CancellationToken Limit() => new CancellationTokenSource(WaitLimit).Token;

    private static string[] Keys(LoadBalancer balancer) => [.. balancer.Endpoints.Select(e => e.Key)];

    [Fact]
    public async Task Subscribe_TwoBalancers_OneWatchFeedsBoth()
    {
        await using KubernetesWatchRegistry registry = CreateRegistry(TimeSpan.FromMinutes(1));
        var first = new RoundRobinBalancer();
        var second = new ConsistentHashBalancer();

        using WatchSubscription a = registry.Subscribe(Web, first);
        using WatchSubscription b = registry.Subscribe(Web, second);
        await a.Watcher.WaitForVersionAsync(1, Limit());
        WatchConnection watch = await _server.NextWatchAsync(WaitLimit);

        Assert.Same(a.Watcher, b.Watcher);
        Assert.Equal(1, _created);
        Assert.Equal(1, registry.WatchCount);
        Assert.Equal(1, _server.CountRequests("watch=true"));
        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], Keys(first));
        Assert.Equal(Keys(first), Keys(second));

        // A change reaches both.
        watch.Send(Event("MODIFIED", Slice("web-a", "101", "IPv4", HttpPort(8080), Endpoint("10.0.0.3"))));
        await a.Watcher.WaitForVersionAsync(2, Limit());
        Assert.Equal(["10.0.0.3:8080"], Keys(first));
        Assert.Equal(["10.0.0.3:8080"], Keys(second));
    }

    [Fact]
    public async Task Publish_CallsSubscribersInTheOrderTheySubscribed()
    {
        // The bench's simulation brackets a handler's balancer update between a hook subscribed before it and one
        // subscribed after it: that only works because a change is delivered in subscription order.
        await using KubernetesWatchRegistry registry = CreateRegistry(TimeSpan.FromMinutes(1));
        var calls = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Action<IReadOnlyList<Balancing.Endpoint>> Record(string name)
            => endpoints => { if (endpoints.Any(e => e.Host == "10.0.0.3")) { calls.Enqueue(name); } };

        using WatchSubscription first = registry.Subscribe(Web, Record("first"));
        using WatchSubscription second = registry.Subscribe(Web, Record("second"));
        using WatchSubscription third = registry.Subscribe(Web, Record("third"));
        await first.Watcher.WaitForVersionAsync(1, Limit());
        WatchConnection watch = await _server.NextWatchAsync(WaitLimit);

        watch.Send(Event("MODIFIED", Slice("web-a", "101", "IPv4", HttpPort(8080), Endpoint("10.0.0.3"))));
        await first.Watcher.WaitForVersionAsync(2, Limit());

        Assert.Equal(["first", "second", "third"], calls);
    }

    [Fact]
    public async Task Subscribe_AfterSync_ReceivesCurrentSetBeforeReturning()
    {
        await using KubernetesWatchRegistry registry = CreateRegistry(TimeSpan.FromMinutes(1));
        using WatchSubscription first = registry.Subscribe(Web, new RoundRobinBalancer());
        await first.Watcher.WaitForVersionAsync(1, Limit());
        var late = new RoundRobinBalancer();

        using WatchSubscription subscription = registry.Subscribe(Web, late);

        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], Keys(late)); // no wait: delivered inside Subscribe
        Assert.Equal(1, _created);
    }

    [Fact]
    public async Task Dispose_LastSubscriber_WatchLingersThenStops()
    {
        await using KubernetesWatchRegistry registry = CreateRegistry(TimeSpan.FromSeconds(30));
        WatchSubscription subscription = registry.Subscribe(Web, new RoundRobinBalancer());
        KubernetesEndpointWatcher watcher = subscription.Watcher;
        await watcher.WaitForVersionAsync(1, Limit());

        subscription.Dispose();
        Assert.Equal(1, registry.WatchCount);                       // lingering
        Assert.Equal(TimeSpan.FromSeconds(30), Assert.Single(_timers.Live).DueTime);

        Assert.Equal(1, _timers.FireAll());
        Assert.Equal(0, registry.WatchCount);
        Assert.False(registry.TryGetWatcher(Web, out _));

        AssertDisposed(watcher);
    }

    [Fact]
    public async Task Subscribe_DuringLinger_KeepsTheSameWatch()
    {
        await using KubernetesWatchRegistry registry = CreateRegistry(TimeSpan.FromSeconds(30));
        WatchSubscription old = registry.Subscribe(Web, new RoundRobinBalancer());
        KubernetesEndpointWatcher watcher = old.Watcher;
        await watcher.WaitForVersionAsync(1, Limit());
        old.Dispose();

        // The handler factory replaced a handler: the new one subscribes while the old watch lingers.
        var balancer = new RoundRobinBalancer();
        using WatchSubscription renewed = registry.Subscribe(Web, balancer);
        _timers.FireAll(); // a timer that fires late must not stop a watch that has a subscriber again

        Assert.Same(watcher, renewed.Watcher);
        Assert.Equal(1, _created);
        Assert.Equal(1, registry.WatchCount);
        Assert.Equal(2, Keys(balancer).Length);
    }

    [Fact]
    public async Task Dispose_ZeroLinger_StopsAtOnceAndNextSubscribeStartsANewWatch()
    {
        await using KubernetesWatchRegistry registry = CreateRegistry(TimeSpan.Zero);
        WatchSubscription first = registry.Subscribe(Web, new RoundRobinBalancer());
        KubernetesEndpointWatcher watcher = first.Watcher;
        await watcher.WaitForVersionAsync(1, Limit());

        first.Dispose();
        first.Dispose(); // twice: nothing more happens

        Assert.Equal(0, registry.WatchCount);
        AssertDisposed(watcher);
        using WatchSubscription second = registry.Subscribe(Web, new RoundRobinBalancer());
        Assert.NotSame(watcher, second.Watcher);
        Assert.Equal(2, _created);
    }

    [Fact]
    public async Task Subscribe_SameServiceDifferentPorts_RunsOneWatchEach()
    {
        await using KubernetesWatchRegistry registry = CreateRegistry(TimeSpan.FromMinutes(1));
        var byName = new RoundRobinBalancer();
        var byNumber = new RoundRobinBalancer();

        using WatchSubscription a = registry.Subscribe(Web, byName);
        using WatchSubscription b = registry.Subscribe(ServiceReference.Parse("web.shop:9090"), byNumber);
        await a.Watcher.WaitForVersionAsync(1, Limit());
        await b.Watcher.WaitForVersionAsync(1, Limit());

        Assert.NotSame(a.Watcher, b.Watcher);
        Assert.Equal(2, registry.WatchCount);
        Assert.Equal(["10.0.0.1:8080", "10.0.0.2:8080"], Keys(byName));
        Assert.Equal(["10.0.0.1:9090", "10.0.0.2:9090"], Keys(byNumber));
    }

    [Fact]
    public async Task Publish_OneSubscriberThrows_OthersStillReceiveAndWatcherRecordsIt()
    {
        await using KubernetesWatchRegistry registry = CreateRegistry(TimeSpan.FromMinutes(1));
        var healthy = new RoundRobinBalancer();
        using WatchSubscription failing = registry.Subscribe(Web, _ => throw new InvalidOperationException("subscriber bug"));
        using WatchSubscription good = registry.Subscribe(Web, healthy);

        KubernetesWatchStatus status = await good.Watcher.WaitForStatusAsync(s => s.LastError is not null, Limit());

        Assert.Contains("subscriber bug", status.LastError!.Message, StringComparison.Ordinal);
        Assert.Equal(2, Keys(healthy).Length);
    }

    [Fact]
    public async Task Subscribe_AfterDispose_Throws()
    {
        KubernetesWatchRegistry registry = CreateRegistry(TimeSpan.FromMinutes(1));
        WatchSubscription subscription = registry.Subscribe(Web, new RoundRobinBalancer());
        KubernetesEndpointWatcher watcher = subscription.Watcher;

        await registry.DisposeAsync();

        AssertDisposed(watcher);
        Assert.Throws<ObjectDisposedException>(() => registry.Subscribe(Web, new RoundRobinBalancer()));
        subscription.Dispose(); // after the registry: harmless
        Assert.Equal(0, _timers.ActiveCount);
    }

    [Fact]
    public void Constructor_LingerOutOfRange_SaysWhatIsAccepted()
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => new KubernetesWatchRegistry(linger: TimeSpan.FromHours(2)));
        Assert.Contains("between 0 and 1 hour", exception.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new KubernetesWatchRegistry(linger: TimeSpan.FromSeconds(-1)));
    }

    [Fact]
    public async Task Race_ManyThreadsSubscribeAndDispose_OneWatchAndEverySubscriberServed()
    {
        await using KubernetesWatchRegistry registry = CreateRegistry(TimeSpan.FromMinutes(1));
        using WatchSubscription anchor = registry.Subscribe(Web, new RoundRobinBalancer());
        await anchor.Watcher.WaitForVersionAsync(1, Limit());
        const int Threads = 4;
        const int Rounds = 200;
        int served = 0;
        int missed = 0;

        Task[] workers = [.. Enumerable.Range(0, Threads).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                var balancer = new RoundRobinBalancer();
                using WatchSubscription subscription = registry.Subscribe(Web, balancer);
                if (balancer.Endpoints.Count == 2)
                {
                    Interlocked.Increment(ref served);
                }
                else
                {
                    Interlocked.Increment(ref missed);
                }

                if ((i & 7) == 0)
                {
                    _timers.FireAll(); // stale linger timers firing concurrently must change nothing
                }
            }
        }))];
        await Task.WhenAll(workers).WaitAsync(WaitLimit);

        Assert.Equal(Threads * Rounds, served);
        Assert.Equal(0, missed);
        Assert.Equal(1, _created);
        Assert.Equal(1, registry.WatchCount);
    }

    [Fact]
    public async Task Race_ChurnWithZeroLinger_NeverTwoWatchesAtOnceAndNoneLeftAtTheEnd()
    {
        await using KubernetesWatchRegistry registry = CreateRegistry(TimeSpan.Zero);
        const int Threads = 4;
        const int Rounds = 15;
        int maxWatches = 0;

        Task[] workers = [.. Enumerable.Range(0, Threads).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                using WatchSubscription subscription = registry.Subscribe(Web, _ => { });
                int count = registry.WatchCount;
                int seen;
                while ((seen = Volatile.Read(ref maxWatches)) < count && Interlocked.CompareExchange(ref maxWatches, count, seen) != seen)
                {
                }
            }
        }))];
        await Task.WhenAll(workers).WaitAsync(WaitLimit);

        Assert.Equal(1, maxWatches);
        Assert.Equal(0, registry.WatchCount);
        Assert.InRange(_created, 1, Threads * Rounds);
        Assert.Equal(_created, _watchers.Count);
        Assert.All(_watchers, AssertDisposed); // every watch that was started was stopped
    }

    private static void AssertDisposed(KubernetesEndpointWatcher watcher)
        // The registry calls DisposeAsync synchronously when it stops a watch, and the watcher marks itself
        // disposed before its first await: a stopped watcher refuses to start from then on.
        => Assert.Throws<ObjectDisposedException>(watcher.StartBackgroundSync);
}
