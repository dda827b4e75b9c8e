using LockFree.Balancing.Kubernetes.Api;
using LockFree.Balancing.Kubernetes.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using LockFree.Balancing.Kubernetes.Slices;
using LockFree.Balancing.Kubernetes.Watch;

namespace LockFree.Balancing.Kubernetes;

/// <summary>
/// Keeps an endpoint set equal to a Kubernetes Service's ready endpoints: LISTs the Service's
/// <c>discovery.k8s.io/v1</c> EndpointSlices, then WATCHes them, and publishes the merged set whenever it changes.
/// </summary>
/// <remarks>
/// <para>
/// Protocol: LIST as client-go's reflector does (<c>resourceVersion=0</c> from the API server's watch cache first, a
/// relist from the last version seen, a consistent read from etcd only when the server refuses the version; pages
/// followed), then WATCH from the list's resourceVersion with <c>allowWatchBookmarks=true</c> and a bounded
/// <c>timeoutSeconds</c>; no periodic relist unless <see cref="KubernetesWatcherOptions.ResyncInterval"/> asks for
/// one. A BOOKMARK moves the resourceVersion only.
/// 410 Gone (HTTP or an in-stream ERROR Status, keyed on the code) relists and replaces the state. Other failures,
/// dropped connections and streams silent for longer than <see cref="KubernetesWatcherOptions.IdleTimeout"/>
/// reconnect from the last resourceVersion after a capped, jittered exponential backoff.
/// </para>
/// <para>
/// Opt-in variants: <see cref="KubernetesWatcherOptions.UseStreamingList"/> gets each full state from a streaming list
/// (ADDED events up to the <c>k8s.io/initial-events-end</c> bookmark) and falls back to LIST + WATCH when the server
/// refuses it; <see cref="KubernetesWatcherOptions.UseLegacyEndpoints"/> watches core/v1 Endpoints instead of
/// EndpointSlices. Diagnostics: logs through <see cref="KubernetesWatcherOptions.LoggerFactory"/> (event ids 100–199,
/// never a token) and the <c>lockfree.kubernetes.*</c> instruments of the <c>LockFree.Balancing</c> meter.
/// </para>
/// <para>
/// Publishing: the callback (or the balancer's <see cref="LoadBalancer.Update"/>) receives the merged set only when
/// it changed, always from the watch loop, never concurrently. During an API outage the last good set stays; a
/// legitimate empty set (every slice deleted, no ready pod) is published. The first successful sync always
/// publishes, empty or not.
/// </para>
/// <para>
/// Threading: one background loop owns the slice state. <see cref="Endpoints"/> and <see cref="Status"/> are
/// immutable snapshots published with a volatile write and safe to read from any thread. No exception escapes the
/// background loop; failures are recorded in <see cref="Status"/>. <see cref="DisposeAsync"/> cancels and awaits it.
/// </para>
/// </remarks>
public sealed class KubernetesEndpointWatcher : IAsyncDisposable
{
    /// <summary>A watch that ends sooner than this waits one jittered initial backoff before the next.</summary>
    internal static readonly TimeSpan MinimumWatchLifetime = TimeSpan.FromSeconds(1);

    /// <summary>The longest <c>Retry-After</c> honoured; a larger value is treated as this.</summary>
    internal static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(5);

    /// <summary>The client-side cap on one watch: the asked <c>timeoutSeconds</c> plus 10 % (at most one minute) of grace for the server.</summary>
    internal static TimeSpan MaxWatchLifetime(TimeSpan watchTimeout)
        => watchTimeout + TimeSpan.FromTicks(Math.Min(watchTimeout.Ticks / 10, TimeSpan.FromMinutes(1).Ticks));

    /// <summary>The least time between two GETs of the Service to map a numeric Service port to its target port.</summary>
    internal static readonly TimeSpan ServicePortLookupInterval = TimeSpan.FromMinutes(1);

    /// <summary>Streaming lists in a row that may end before their initial-events-end bookmark before LIST + WATCH takes over.</summary>
    internal const int MaxIncompleteStreamingLists = 2;

    private readonly KubernetesWatcherOptions _options;
    private readonly KubernetesMetrics _metrics;
    private readonly Action<IReadOnlyList<Endpoint>> _onChanged;
    private readonly KubernetesApiClient _client;
    private MergeSettings _mergeSettings;                  // owned by the holder of _stateGate (the Service port's name is learned)
    private bool _servicePortLookupWanted;                 // owned by the holder of _stateGate
    private long _lastServicePortLookup;                   // timestamp; 0 = never; owned by the holder of _stateGate
    private string? _servicePortNote;                      // why the Service port could not be mapped; owned by the holder of _stateGate
    private readonly EndpointSliceSet _slices = new();      // owned by the holder of _stateGate
    private readonly Utf8StringCache _strings = new();      // owned by the holder of _stateGate
    private readonly SemaphoreSlim _stateGate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _statusGate = new();
    private readonly ILogger _logger;
    private int _watchesOpened;        // owned by the holder of _stateGate
    private bool _lastVersionUnavailable; // the last LIST or WATCH version was refused: the next LIST reads from etcd; owned by the holder of _stateGate
    private bool _serverPagesLists;       // a resourceVersion=0 LIST came back in pages (no watch cache): keep the limit; owned by the holder of _stateGate

    private IReadOnlyList<Endpoint> _endpoints = [];
    private bool _hasPublished;
    private bool _deliveryPending;     // the last merged set did not reach the subscriber (it threw); owned by the loop
    private int _relistsInARow;        // watch failures that forced a relist since the last healthy watch; owned by the loop
    private int _incompleteStreamingLists; // streaming lists in a row that ended before initial-events-end; owned by the loop
    private int _streamingListUnsupported; // 1 once the server refused streaming lists: LIST + WATCH from then on
    private readonly ResourceVersionBuffer _resourceVersion = new();      // owned by the loop; status readers see _liveResourceVersion
    private readonly ResourceVersionBuffer _eventResourceVersion = new(); // the loop's scratch for each parsed event
    private long _lastListTimestamp;
    private TimeSpan _nextResyncAfter = TimeSpan.MaxValue;
    private KubernetesWatchStatus _status = KubernetesWatchStatus.Initial;

    // What every event refreshes (sync time, staleness, resourceVersion), folded into _status when it is read or next
    // replaced, so that an event that changes nothing allocates no status. Guarded by _statusGate. The resourceVersion
    // is its own copy, taken when the event is done: _resourceVersion moves on before the event's merge and
    // publication, and a status read meanwhile must not show a resourceVersion ahead of its Version.
    private readonly ResourceVersionBuffer _liveResourceVersion = new();
    private DateTimeOffset _liveSyncTime;
    private bool _liveStale;
    private bool _liveChanged;
    private int _statusWaiters;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private int _disposed;

    /// <summary>Creates a watcher that calls <paramref name="onChanged"/> with every new endpoint set.</summary>
    /// <param name="service">The Service and the wanted port.</param>
    /// <param name="onChanged">Receives each changed set, in ordinal key order; called from the watch loop, one call at a time. An exception it throws is recorded in <see cref="Status"/>.</param>
    /// <param name="options">Connection and behaviour; <see langword="null"/> for the defaults (kubectl proxy on 127.0.0.1:8001).</param>
    /// <exception cref="ArgumentNullException"><paramref name="service"/> or <paramref name="onChanged"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is out of range, or the certificate authority file cannot be read.</exception>
    public KubernetesEndpointWatcher(ServiceReference service, Action<IReadOnlyList<Endpoint>> onChanged, KubernetesWatcherOptions? options = null)
        : this(service, onChanged, options, transport: null)
    {
    }

    /// <summary>Creates a watcher on a shared <paramref name="transport"/> (a registry's), which its owner disposes.</summary>
    internal KubernetesEndpointWatcher(ServiceReference service, Action<IReadOnlyList<Endpoint>> onChanged, KubernetesWatcherOptions? options, KubernetesTransport? transport)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(onChanged);
        Service = service;
        _onChanged = onChanged;
        _options = (options ?? new KubernetesWatcherOptions()).Validated();
        _mergeSettings = new MergeSettings(_options.AddressFamily, _options.UseTerminatingEndpointsWhenNoneReady);
        _logger = _options.LoggerFactory?.CreateLogger<KubernetesEndpointWatcher>() ?? NullLogger<KubernetesEndpointWatcher>.Instance;
        _client = new KubernetesApiClient(service, _options, _logger, transport);
        _metrics = KubernetesMetrics.For(_options.MeterFactory);
        _metrics.Register(this);
    }

    /// <summary>Creates a watcher that keeps <paramref name="balancer"/>'s endpoints equal to the Service's.</summary>
    /// <param name="service">The Service and the wanted port.</param>
    /// <param name="balancer">The balancer to update.</param>
    /// <param name="options">Connection and behaviour; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="service"/> or <paramref name="balancer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is out of range, or the certificate authority file cannot be read.</exception>
    public KubernetesEndpointWatcher(ServiceReference service, LoadBalancer balancer, KubernetesWatcherOptions? options = null)
        : this(service, ToCallback(balancer), options)
    {
    }

    /// <summary>The watched Service.</summary>
    public ServiceReference Service { get; }

    /// <summary>The last published endpoint set, in ordinal key order; empty before the first sync.</summary>
    public IReadOnlyList<Endpoint> Endpoints => Volatile.Read(ref _endpoints);

    /// <summary>The current health snapshot.</summary>
    public KubernetesWatchStatus Status => Volatile.Read(ref _liveChanged) ? FoldLiveStatus() : Volatile.Read(ref _status);

    /// <summary>
    /// Lists the Service's slices once and publishes the result (the original library's <c>SyncEndpoints</c>).
    /// </summary>
    /// <param name="cancellationToken">Cancels the sync.</param>
    /// <returns>A task that completes when the set is published.</returns>
    /// <exception cref="KubernetesApiException">The LIST failed; the error is also recorded in <see cref="Status"/>.</exception>
    /// <exception cref="InvalidOperationException">Background sync is running; it already keeps the set current.</exception>
    /// <exception cref="ObjectDisposedException">The watcher is disposed.</exception>
    public async Task SyncOnceAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Volatile.Read(ref _loop) is not null)
        {
            throw new InvalidOperationException("Background sync is running and already keeps the endpoints current.");
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        await _stateGate.WaitAsync(linked.Token).ConfigureAwait(false);
        try
        {
            await ListAsync(linked.Token).ConfigureAwait(false);
            await MapServicePortIfWantedAsync(linked.Token).ConfigureAwait(false);
        }
        catch (KubernetesApiException ex) when (ex.Error is not null)
        {
            ReportApiError(ex.Error, ex.InnerException);
            RecordFailure(ex.Error);
            throw;
        }
        finally
        {
            _stateGate.Release();
        }
    }

    /// <summary>Starts the background list-and-watch loop (the original library's <c>StartBackgroundSync</c>). Calling it again does nothing.</summary>
    /// <exception cref="ObjectDisposedException">The watcher is disposed.</exception>
    public void StartBackgroundSync()
    {
        lock (_statusGate)
        {
            // Checked under the lock DisposeAsync reads the loop under: either this start is seen and awaited
            // by a concurrent disposal, or it sees the disposal and throws.
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            CancellationToken stopping = _stopping.Token;
            _loop ??= Task.Run(() => RunGuardedAsync(stopping));
        }
    }

    /// <summary>Waits until the published <see cref="KubernetesWatchStatus.Version"/> reaches <paramref name="version"/>.</summary>
    /// <param name="version">The version to wait for (1 = the first publication).</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The status at that point.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled first.</exception>
    public Task<KubernetesWatchStatus> WaitForVersionAsync(long version, CancellationToken cancellationToken)
        => WaitForStatusAsync(status => status.Version >= version, cancellationToken);

    /// <summary>Waits until the status satisfies <paramref name="predicate"/>; checked now and after every change of endpoints or status.</summary>
    /// <param name="predicate">The condition.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    /// <returns>The first status that satisfied the condition.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled first.</exception>
    public async Task<KubernetesWatchStatus> WaitForStatusAsync(Func<KubernetesWatchStatus, bool> predicate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(predicate);

        // Counted first: Signal skips its work while nobody waits, and reads this count after writing the status.
        Interlocked.Increment(ref _statusWaiters);
        try
        {
            while (true)
            {
                // Step 1 – take the signal before reading the status, so a change between the two is not missed.
                Task changed = Volatile.Read(ref _changed).Task;
                KubernetesWatchStatus status = Status;
                if (predicate(status))
                {
                    return status;
                }

                await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _statusWaiters);
        }
    }

    /// <summary>Stops the background loop, waits for it to end, and releases the HTTP client.</summary>
    /// <remarks>Do not await it from inside the change callback: the loop that runs the callback is what it waits for.</remarks>
    /// <returns>A task that completes when everything is released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        Task? loop;
        lock (_statusGate)
        {
            loop = _loop;
        }

        if (loop is not null)
        {
            await loop.ConfigureAwait(false); // RunGuardedAsync never faults
        }

        await _stateGate.WaitAsync().ConfigureAwait(false); // a SyncOnceAsync in flight has seen the cancellation
        _metrics.Unregister(this);
        _client.Dispose();
        _stopping.Dispose();
        Signal();
    }

    private static Action<IReadOnlyList<Endpoint>> ToCallback(LoadBalancer balancer)
    {
        ArgumentNullException.ThrowIfNull(balancer);
        return endpoints => balancer.Update(endpoints);
    }

    private async Task RunGuardedAsync(CancellationToken stopping)
    {
        try
        {
            await _stateGate.WaitAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            await RunAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Disposal.
        }
#pragma warning disable CA1031 // The loop is the last line of defence: nothing may escape it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.LoopStopped(_logger, Service.Namespace, Service.Name, ex);
            RecordFailure(_client.Error(_options.ApiServer, null, "the watch loop stopped unexpectedly: " + ex.Message));
        }
        finally
        {
            _stateGate.Release();
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        bool needList = !_resourceVersion.IsUsable;
        int goneInARow = 0;
        while (!stopping.IsCancellationRequested)
        {
            bool streaming = false;
            try
            {
                // An opt-in periodic full LIST (off by default: a watch resumed from its last resourceVersion misses
                // nothing); it happens between watches, never inside one.
                needList |= _options.TimeProvider.GetElapsedTime(_lastListTimestamp) >= _nextResyncAfter;
                WatchOutcome outcome;
                if (needList && _options.UseStreamingList && Volatile.Read(ref _streamingListUnsupported) == 0)
                {
                    // Streaming list: the state arrives as ADDED events on a watch and is complete at the
                    // initial-events-end bookmark; the same stream then goes on as an ordinary watch.
                    streaming = true;
                    outcome = await WatchAsync(resourceVersion: null, stopping).ConfigureAwait(false);
                    if (outcome.InitialEventsEnded)
                    {
                        needList = false;
                        _incompleteStreamingLists = 0;
                    }
                    else if (outcome.Gone is null)
                    {
                        NoteIncompleteStreamingList();
                    }
                }
                else
                {
                    if (needList)
                    {
                        await ListAsync(stopping).ConfigureAwait(false);
                        needList = false;
                    }

                    await MapServicePortIfWantedAsync(stopping).ConfigureAwait(false);

                    if (_deliveryPending)
                    {
                        MergeAndPublish(force: false);
                    }

                    outcome = await WatchAsync(_resourceVersion.Text!, stopping).ConfigureAwait(false);
                }

                Log.WatchEnded(_logger, Service.Namespace, Service.Name, outcome.Elapsed.TotalSeconds, outcome.Changes);

                if (outcome.Gone is SyncError gone)
                {
                    // 410: the resourceVersion is too old. Relist at once, but back off if it keeps happening.
                    needList = true;
                    ReportApiError(gone, null);
                    Log.Relisting(_logger, Service.Namespace, Service.Name, "410 Gone: the resourceVersion is too old");
                    RecordError(gone);
                    if (++goneInARow > 1)
                    {
                        await DelayAsync(goneInARow - 1, stopping).ConfigureAwait(false);
                    }

                    continue;
                }

                goneInARow = 0;

                // Healthy: the watch delivered a change, or stayed open for half its term. Bookmarks alone do not
                // count: a server or proxy that sends one and hangs up would otherwise be reconnected to in a loop.
                bool healthy = outcome.Changes > 0 || outcome.Elapsed >= _options.WatchTimeout / 2;
                if (healthy)
                {
                    Volatile.Write(ref _relistsInARow, 0);
                    UpdateStatus(s => s.With(consecutiveFailures: 0));
                    if (outcome.Elapsed < MinimumWatchLifetime)
                    {
                        // Even a watch that delivered changes is not reconnected at once if it lasted under a
                        // second: a server that sends one event and hangs up every time must not spin the loop.
                        await DelayAsync(1, stopping).ConfigureAwait(false);
                    }
                }
                else
                {
                    int failures = IncrementFailures();
                    await DelayAsync(failures, stopping).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (KubernetesApiException ex) when (streaming && ex.StatusCode is 400 or 403 or 422)
            {
                // The server refuses the streaming-list parameters (feature off, too old, or a policy): fall back to
                // LIST + WATCH at once. A 403 that is really RBAC shows up again, explained, on the LIST.
                Volatile.Write(ref _streamingListUnsupported, 1);
                Log.StreamingListFallback(_logger, Service.Namespace, Service.Name);
                SyncError error = ex.Error ?? _client.Error(_options.ApiServer, ex.StatusCode, ex.Message);
                ReportApiError(error, ex.InnerException);
                RecordError(new SyncError(error.Url, error.StatusCode, error.Message + " The server does not accept streaming lists; using LIST + WATCH.", error.Reason, error.Time));
            }
            catch (KubernetesApiException ex)
            {
                if (streaming)
                {
                    NoteIncompleteStreamingList();
                }

                SyncError error = ex.Error ?? _client.Error(_options.ApiServer, null, ex.Message);
                // A WATCH refused with 410, or with 504 "Too large resource version" (a replica behind the version),
                // cannot succeed from the same version: relist, as the reflector does after such a watch error.
                bool relist = IsVersionUnavailable(ex) || ex.InnerException is WatchEventTooLargeException or InvalidWatchDataException;
                needList |= relist;
                ReportApiError(error, ex.InnerException);
                if (relist)
                {
                    Log.Relisting(_logger, Service.Namespace, Service.Name, error.Message);
                }
                int failures = RecordFailure(error);
                await DelayAsync(relist ? BackoffStepAfterRelist(failures) : failures, stopping, ex.RetryAfter).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Anything unforeseen is recorded and retried from a fresh LIST; the loop never dies.
            catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
#pragma warning restore CA1031
            {
                needList = true;
                SyncError error = _client.Error(_options.ApiServer, null, $"unexpected {ex.GetType().Name}: {ex.Message}");
                ReportApiError(error, ex);
                int failures = RecordFailure(error);
                await DelayAsync(BackoffStepAfterRelist(failures), stopping).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// One full LIST, with client-go's reflector rules (<c>tools/cache/reflector.go</c>, <c>list</c> and
    /// <c>relistResourceVersion</c>): the first LIST asks for <c>resourceVersion=0</c>, served from the API server's
    /// watch cache (possibly a little stale; the watch catches up); a relist asks for the last version seen, not
    /// older than it, also from the watch cache; and when the server answers that version expired (410) or is ahead of
    /// it ("Too large resource version", 504), it lists again at once with <c>resourceVersion=""</c>, a consistent
    /// read from etcd, and keeps doing so until a LIST succeeds.
    /// </summary>
    private async Task ListAsync(CancellationToken cancellationToken)
    {
        string from = RelistResourceVersion();
        try
        {
            await ListAtAsync(from, cancellationToken).ConfigureAwait(false);
        }
        catch (KubernetesApiException ex) when (from.Length > 0 && IsVersionUnavailable(ex))
        {
            // The version cannot be served here: fall back to a consistent read, as the reflector does.
            _lastVersionUnavailable = true;
            ReportApiError(ex.Error!, null);
            Log.ListingFromEtcd(_logger, Service.Namespace, Service.Name, from, ex.StatusCode);
            await ListAtAsync(string.Empty, cancellationToken).ConfigureAwait(false);
        }

        _lastVersionUnavailable = false;
    }

    /// <summary>The <c>resourceVersion</c> of the next LIST: <c>""</c> after a refused version, <c>"0"</c> before the first, else the last seen.</summary>
    private string RelistResourceVersion()
        => _lastVersionUnavailable ? string.Empty : _resourceVersion.Text ?? "0";

    /// <summary>410 Expired/Gone, or 504 "Too large resource version": the asked version cannot be served by this server now.</summary>
    private static bool IsVersionUnavailable(KubernetesApiException ex)
        => ex.StatusCode == 410
           || (ex.StatusCode == 504 && ex.Error!.Message.Contains("too large resource version", StringComparison.OrdinalIgnoreCase));

    private async Task ListAtAsync(string from, CancellationToken cancellationToken)
    {
        // Paging as client-go's pager: a limit for "0" (the watch cache of older servers ignores it and answers in
        // one page) and for "" (etcd pages); none for a version, so that the watch cache serves it (a LIST with a
        // limit and a version other than "0" is delegated to etcd) — unless "0" came back in pages, which means the
        // watch cache is off and etcd answers anyway.
        int? limit = from.Length == 0 || from == "0" || _serverPagesLists ? _options.ListPageSize : null;
        var items = new List<EndpointSlice>();
        string? continueToken = null;
        string? resourceVersion = null;
        while (true)
        {
            EndpointSliceList page;
            try
            {
                page = await _client.ListPageAsync(from, limit, continueToken, _strings, _slices, cancellationToken).ConfigureAwait(false);
            }
            catch (KubernetesApiException ex) when (continueToken is not null && ex.StatusCode == 410)
            {
                // The continue token expired mid-list (kept ~5 min by etcd): one full list at the same version, no
                // limit, as client-go's pager does (FullListIfExpired).
                Log.Relisting(_logger, Service.Namespace, Service.Name, "the LIST's continue token expired; listing again without pages");
                items.Clear();
                limit = null;
                continueToken = null;
                resourceVersion = null;
                continue;
            }

            items.AddRange(page.Items);
            resourceVersion ??= page.ResourceVersion; // every page of one list shares the first page's snapshot
            continueToken = page.Continue;
            if (continueToken is null)
            {
                break;
            }

            if (from == "0")
            {
                _serverPagesLists = true;
            }
        }

        if (string.IsNullOrEmpty(resourceVersion))
        {
            throw new KubernetesApiException(_client.Error(_client.ListUrl(from, limit, null), 200, "the LIST response has no metadata.resourceVersion to watch from"));
        }

        ReplaceState(items, resourceVersion);
    }

    /// <summary>A complete list arrived (LIST pages or a streaming list's initial events): it replaces the state.</summary>
    private void ReplaceState(IEnumerable<EndpointSlice> items, string resourceVersion)
    {
        // Step 1 – replace the whole state: slices absent from the list are gone.
        if (Status.ListCount > 0)
        {
            _metrics.Relisted(Service);
        }

        _slices.ReplaceAll(items);
        Log.Listed(_logger, Service.Namespace, Service.Name, _slices.Count, resourceVersion);
        _resourceVersion.Set(resourceVersion);
        _lastListTimestamp = _options.TimeProvider.GetTimestamp();
        _nextResyncAfter = _options.ResyncInterval == Timeout.InfiniteTimeSpan
            ? TimeSpan.MaxValue
            : _options.ResyncInterval * (0.9 + (0.2 * _options.Random!.NextDouble())); // ±10 % jitter

        // Step 2 – publish (always on the first sync, so that an empty Service is published too).
        MergeAndPublish(force: !_hasPublished);

        DateTimeOffset now = _options.TimeProvider.GetUtcNow();
        UpdateStatus(s => s.With(lastSyncTime: now, isStale: _deliveryPending, resourceVersion: resourceVersion, consecutiveFailures: 0, listCount: s.ListCount + 1));
    }

    /// <summary>One watch connection, from <paramref name="resourceVersion"/>, or a streaming list when it is <see langword="null"/>.</summary>
    private async Task<WatchOutcome> WatchAsync(string? resourceVersion, CancellationToken stopping)
    {
        Uri url = _client.WatchUrl(resourceVersion);
        if (_watchesOpened++ > 0)
        {
            _metrics.WatchRestarted(Service);
        }

        long started = _options.TimeProvider.GetTimestamp();
        int changes = 0;
        bool connected = false;
        TimeSpan idleTimeout = _options.IdleTimeout;

        // A streaming list gathers its initial events here and applies them only at the initial-events-end bookmark,
        // which must come within RequestTimeout (a server that ignores the parameter never sends it).
        Dictionary<string, EndpointSlice>? staged = resourceVersion is null ? new(StringComparer.Ordinal) : null;
        using var initialEvents = new CancellationTokenSource(staged is null ? Timeout.InfiniteTimeSpan : _options.RequestTimeout, _options.TimeProvider);
        using var answer = new CancellationTokenSource(_options.RequestTimeout, _options.TimeProvider);
        using var idle = new IdleDeadline(_options.TimeProvider, idleTimeout);

        // The server should end the watch after timeoutSeconds; one that ignores it (a proxy, a broken server that
        // keeps sending bookmarks) is cut here, a little later, so that every watch has an end.
        using var lifetime = new CancellationTokenSource(MaxWatchLifetime(_options.WatchTimeout), _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource([stopping, answer.Token, idle.Token, initialEvents.Token, lifetime.Token]);
        try
        {
            using HttpResponseMessage response = await _client.OpenWatchAsync(resourceVersion, linked.Token).ConfigureAwait(false);
            connected = true;
            answer.CancelAfter(Timeout.InfiniteTimeSpan);
            idle.Start();
            if (staged is null)
            {
                DateTimeOffset connectedAt = _options.TimeProvider.GetUtcNow();
                UpdateStatus(s => s.With(lastSyncTime: connectedAt, isStale: _deliveryPending));
            }

            Stream body = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                using var lines = new WatchLineReader(body, _options.MaxEventBytes, idle.Touch);
                while (true)
                {
                    ReadOnlyMemory<byte> line = await lines.ReadLineAsync(linked.Token).ConfigureAwait(false);
                    if (line.IsEmpty)
                    {
                        return new WatchOutcome(changes, _options.TimeProvider.GetElapsedTime(started), Gone: null, InitialEventsEnded: staged is null);
                    }

                    WatchEvent change = ParseLine(line.Span);
                    if (change.Type == WatchEventType.Error)
                    {
                        ApiStatus status = change.Status!;
                        SyncError error = _client.Error(url, status.Code, "the watch stream reported an error: " + (status.Message ?? "(no message)"), status.Reason);
                        if (status.NeedsRelist)
                        {
                            return new WatchOutcome(changes, _options.TimeProvider.GetElapsedTime(started), error, InitialEventsEnded: staged is null);
                        }

                        throw new KubernetesApiException(error);
                    }

                    if (staged is not null)
                    {
                        if (StageInitialEvent(staged, change))
                        {
                            ReplaceState(staged.Values, change.ResourceVersion!);
                            staged = null;
                            initialEvents.CancelAfter(Timeout.InfiniteTimeSpan);
                            await MapServicePortIfWantedAsync(linked.Token).ConfigureAwait(false);
                        }

                        continue;
                    }

                    changes += change.Type is WatchEventType.Added or WatchEventType.Modified or WatchEventType.Deleted ? 1 : 0;
                    Apply(change);
                    await MapServicePortIfWantedAsync(linked.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (lifetime.IsCancellationRequested && !idle.Expired && !answer.IsCancellationRequested && !initialEvents.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            // Not an error: the watch lived its term; the loop resumes from the last resourceVersion.
            return new WatchOutcome(changes, _options.TimeProvider.GetElapsedTime(started), Gone: null, InitialEventsEnded: staged is null);
        }
        catch (OperationCanceledException ex) when (initialEvents.IsCancellationRequested && !idle.Expired && !answer.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            string message = $"the streaming list sent no initial-events-end bookmark within {_options.RequestTimeout.TotalSeconds:0.###} s (the server may ignore sendInitialEvents)";
            throw new KubernetesApiException(_client.Error(url, null, message), ex);
        }
        catch (OperationCanceledException ex) when ((idle.Expired || answer.IsCancellationRequested) && !stopping.IsCancellationRequested)
        {
            string message = connected
                ? $"the watch stream was silent for {idleTimeout.TotalSeconds:0.###} s and is treated as dead; reconnecting"
                : $"the WATCH did not answer within {_options.RequestTimeout.TotalSeconds:0.###} s";
            throw new KubernetesApiException(_client.Error(url, null, message), ex);
        }
        catch (IOException ex)
        {
            string message = ex switch
            {
                WatchEventTooLargeException => ex.Message + " Relisting.",
                InvalidWatchDataException => "the watch stream sent data that is not a valid event (" + ex.Message + "); relisting",
                _ => "the watch connection broke: " + ex.Message,
            };
            throw new KubernetesApiException(_client.Error(url, null, message), ex);
        }
        catch (HttpRequestException ex)
        {
            throw new KubernetesApiException(_client.Error(url, null, "the watch connection broke: " + ex.Message), ex);
        }
        catch (ObjectDisposedException ex) when (!stopping.IsCancellationRequested)
        {
            // The shared transport closed its connections for a renewed client certificate.
            throw new KubernetesApiException(_client.Error(url, null, "the watch connection was closed: " + ex.Message), ex);
        }
    }

    /// <summary>Adds one event of a streaming list's initial state to <paramref name="staged"/>; true at the initial-events-end bookmark.</summary>
    /// <exception cref="KubernetesApiException">That bookmark carries no resourceVersion to watch from.</exception>
    private bool StageInitialEvent(Dictionary<string, EndpointSlice> staged, WatchEvent change)
    {
        switch (change.Type)
        {
            case WatchEventType.Added or WatchEventType.Modified:
                staged[change.Slice!.Name] = change.Slice;
                return false;
            case WatchEventType.Deleted:
                staged.Remove(change.Slice!.Name);
                return false;
            case WatchEventType.Bookmark when change.IsInitialEventsEnd:
                if (!change.ResourceVersionBytes.IsUsable)
                {
                    throw new KubernetesApiException(_client.Error(_client.WatchUrl(null), 200, "the initial-events-end bookmark has no metadata.resourceVersion to watch from"));
                }

                return true;
            default:
                return false; // other bookmarks before the end carry nothing usable yet
        }
    }

    /// <summary>
    /// A streaming list ended (or failed) before its initial-events-end bookmark. Twice in a row means the server
    /// does not really support it: LIST + WATCH from then on.
    /// </summary>
    private void NoteIncompleteStreamingList()
    {
        if (++_incompleteStreamingLists >= MaxIncompleteStreamingLists)
        {
            Volatile.Write(ref _streamingListUnsupported, 1);
            Log.StreamingListFallback(_logger, Service.Namespace, Service.Name);
        }
    }

    /// <summary>True once the watcher gave up on streaming lists and uses LIST + WATCH (for tests and diagnostics).</summary>
    internal bool StreamingListFellBack => Volatile.Read(ref _streamingListUnsupported) != 0;

    /// <summary>Parses one watch line against the held slices; its resourceVersion lands in the loop's scratch buffer.</summary>
    /// <exception cref="InvalidWatchDataException">The line is not a valid watch event.</exception>
    internal WatchEvent ParseLine(ReadOnlySpan<byte> line)
        => _options.UseLegacyEndpoints
            ? KubernetesJson.ParseLegacyWatchEvent(line, _strings, _eventResourceVersion)
            : KubernetesJson.ParseWatchEvent(line, _strings, _slices, _eventResourceVersion);

    /// <summary>Applies one ADDED, MODIFIED, DELETED or BOOKMARK event to the state; merges and publishes when it changed something.</summary>
    /// <remarks>Runs on the watch loop (tests call it directly on a watcher that is not started).</remarks>
    internal void Apply(WatchEvent change)
    {
        bool changed = change.Type != WatchEventType.Bookmark;
        switch (change.Type)
        {
            case WatchEventType.Added or WatchEventType.Modified or WatchEventType.Deleted when change.LegacySlices is { } legacy:
                // Legacy Endpoints: the watch selects one object by name, so its subsets are the whole state.
                _slices.ReplaceAll(legacy);
                break;
            case WatchEventType.Added or WatchEventType.Modified:
                if (_slices.TryGet(change.Slice!.Name, out EndpointSlice? held) && ReferenceEquals(held, change.Slice))
                {
                    // PERF: the parser found nothing the balancer uses changed (it returned the held slice): no merge.
                    changed = false;
                    break;
                }

                _slices.Upsert(change.Slice);
                break;
            case WatchEventType.Deleted:
                _slices.Remove(change.Slice!.Name);
                break;
            case WatchEventType.Bookmark:
                break; // the resourceVersion only
            default:
                return; // an event type this library does not know: ignored, resourceVersion untouched
        }

        if (change.ResourceVersionBytes.IsUsable)
        {
            _resourceVersion.CopyFrom(change.ResourceVersionBytes);
        }

        if (changed || _deliveryPending)
        {
            MergeAndPublish(force: false);
        }

        // PERF: no new status per event; readers fold these in (see Status).
        DateTimeOffset now = _options.TimeProvider.GetUtcNow();
        lock (_statusGate)
        {
            _liveResourceVersion.CopyFrom(_resourceVersion);
            _liveSyncTime = now;
            _liveStale = _deliveryPending;
            Volatile.Write(ref _liveChanged, true);
        }

        Signal();
    }

    /// <summary>
    /// A numeric port that no slice lists may be a Service port whose target port differs (80 → 8080): GET the Service
    /// (at most every <see cref="ServicePortLookupInterval"/>) and resolve the port by its Service port's name, which
    /// the slices' target ports carry. A failure (403 without <c>get</c> on services, no such port) is explained in
    /// <see cref="KubernetesWatchStatus.PortDiagnostic"/>; it never fails the watch, and named ports never need it.
    /// </summary>
    private async Task MapServicePortIfWantedAsync(CancellationToken cancellationToken)
    {
        if (!_servicePortLookupWanted)
        {
            return;
        }

        _servicePortLookupWanted = false;
        _lastServicePortLookup = _options.TimeProvider.GetTimestamp();
        int wanted = Service.Port!.Value;
        try
        {
            IReadOnlyList<ServicePort> ports = await _client.GetServicePortsAsync(cancellationToken).ConfigureAwait(false);
            ServicePort? match = null;
            foreach (ServicePort port in ports)
            {
                if (port.Port == wanted)
                {
                    match = port;
                    break;
                }
            }

            if (match is ServicePort found)
            {
                _mergeSettings = _mergeSettings with { ServicePortName = found.Name };
                _servicePortNote = null;
                string mapping = found.ToString(); // a cold path: once a minute at most
                Log.ServicePortMapped(_logger, Service.Namespace, Service.Name, wanted, mapping);
            }
            else
            {
                _mergeSettings = _mergeSettings with { ServicePortName = null };
                _servicePortNote = ports.Count == 0
                    ? $"The Service defines no ports, so port {wanted} is not one of its ports either."
                    : $"The Service has no port {wanted} either (its ports: {string.Join(", ", ports)}).";
            }
        }
        catch (KubernetesApiException ex) when (!cancellationToken.IsCancellationRequested)
        {
            _servicePortNote = "Mapping it through the Service failed: " + (ex.Error?.Message ?? ex.Message);
            if (ex.Error is SyncError error)
            {
                ReportApiError(error, ex.InnerException);
            }
        }

        MergeAndPublish(force: false);
    }

    private void MergeAndPublish(bool force)
    {
        MergedEndpoints merged = _slices.Merge(Service, _mergeSettings);
        if (Service.Port is not null && merged.PortUnresolvedEverywhere
            && (_lastServicePortLookup == 0 || _options.TimeProvider.GetElapsedTime(_lastServicePortLookup) >= ServicePortLookupInterval))
        {
            _servicePortLookupWanted = true; // the loop GETs the Service next, and merges again
        }

        string? diagnostic = merged.PortDiagnostic is string portDiagnostic && _servicePortNote is string note
            ? portDiagnostic + " " + note
            : merged.PortDiagnostic;
        bool diagnosticChanged = !string.Equals(diagnostic, Volatile.Read(ref _status).PortDiagnostic, StringComparison.Ordinal);
        if (diagnosticChanged && diagnostic is not null)
        {
            Log.PortNotOffered(_logger, Service.Namespace, Service.Name, diagnostic);
        }

        string? warning = _options.UseLegacyEndpoints ? OverCapacityWarning(_slices.OverCapacity) : null;
        if (!string.Equals(warning, Volatile.Read(ref _status).Warning, StringComparison.Ordinal))
        {
            diagnosticChanged = true;
            if (warning is not null)
            {
                Log.LegacyEndpointsOverCapacity(_logger, Service.Namespace, Service.Name, warning);
            }
        }

        if (!force && !_deliveryPending && EndpointSliceSet.SameEndpoints(merged.Endpoints, _endpoints))
        {
            if (diagnosticChanged)
            {
                UpdateStatus(s => s.WithPortDiagnostic(diagnostic).WithWarning(warning));
            }

            return;
        }

        try
        {
            _onChanged(merged.Endpoints);
        }
#pragma warning disable CA1031 // A faulty subscriber must not stop the watch.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // Nothing is committed: Endpoints and Version still describe what the subscriber last accepted, the
            // status says stale, and the next event (bookmarks included) or loop turn delivers again.
            _deliveryPending = true;
            Log.SubscriberFailed(_logger, Service.Namespace, Service.Name, ex);
            SyncError error = _client.Error(_options.ApiServer, null, "the endpoint subscriber threw: " + ex.Message);
            UpdateStatus(s => s.With(lastError: error, isStale: true).WithPortDiagnostic(diagnostic).WithWarning(warning));
            return;
        }

        _deliveryPending = false;
        _hasPublished = true;
        int previousCount = _endpoints.Count;
        Volatile.Write(ref _endpoints, merged.Endpoints);
        string? resourceVersion = _resourceVersion.Text;
        Log.EndpointsChanged(_logger, Service.Namespace, Service.Name, merged.Endpoints.Count, previousCount, resourceVersion);

        // The resourceVersion and the port diagnostic go with the version, in one status: a reader woken by any of
        // them sees the published set and the API state it came from.
        UpdateStatus(s => s.With(version: s.Version + 1, resourceVersion: resourceVersion).WithPortDiagnostic(diagnostic).WithWarning(warning));
    }

    /// <summary>What <see cref="KubernetesWatchStatus.Warning"/> says about a legacy Endpoints object's over-capacity mark.</summary>
    private string? OverCapacityWarning(OverCapacity mark) => mark switch
    {
        OverCapacity.Truncated => $"the Endpoints object of {Service.Name}.{Service.Namespace} is annotated endpoints.kubernetes.io/over-capacity=truncated: the endpoints controller kept only 1000 of its addresses, so the balancer sees at most 1000 endpoints. Watch EndpointSlices instead (UseLegacyEndpoints = false; Kubernetes 1.21+), which hold every endpoint.",
        OverCapacity.Warning => $"the Endpoints object of {Service.Name}.{Service.Namespace} is annotated endpoints.kubernetes.io/over-capacity: the Service has more than 1000 addresses, which newer clusters truncate. Watch EndpointSlices instead (UseLegacyEndpoints = false; Kubernetes 1.21+).",
        _ => null,
    };

    /// <summary>Watch failures that forced a relist since the last healthy watch; for tests.</summary>
    internal int RelistsInARow => Volatile.Read(ref _relistsInARow);

    /// <summary>
    /// The backoff step for a failure that forces a relist. A successful LIST resets the status's failure count,
    /// so a watch that fails the same way after every LIST (an HTTP 410 each time, an oversize event) would
    /// otherwise relist at the initial delay forever; counting relists in a row keeps the delay growing until a
    /// watch proves healthy.
    /// </summary>
    private int BackoffStepAfterRelist(int failures)
    {
        int relists = _relistsInARow + 1;
        Volatile.Write(ref _relistsInARow, relists);
        return Math.Max(failures, relists);
    }

    private async Task DelayAsync(int failures, CancellationToken cancellationToken, TimeSpan? retryAfter = null)
    {
        TimeSpan delay = Backoff.Delay(failures, _options.InitialBackoff, _options.MaxBackoff, _options.Random!.NextDouble());
        if (retryAfter is TimeSpan asked)
        {
            // The server's Retry-After wins over a shorter backoff, within reason.
            delay = TimeSpan.FromTicks(Math.Max(delay.Ticks, Math.Min(asked.Ticks, MaxRetryAfter.Ticks)));
        }

        await Task.Delay(delay, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Seconds since the last successful sync, for the <c>lockfree.kubernetes.sync.age</c> gauge; <see langword="null"/> before the first.</summary>
    internal TimeSpan? SyncAge()
        => Status.LastSyncTime is DateTimeOffset synced ? _options.TimeProvider.GetUtcNow() - synced : null;

    /// <summary>Counts and logs one failed call. The message comes from the API client and never holds a token.</summary>
    private void ReportApiError(SyncError error, Exception? cause)
    {
        _metrics.ApiError(Service, error.StatusCode, cause?.GetType().Name ?? nameof(KubernetesApiException));
        Log.ApiError(_logger, Service.Namespace, Service.Name, error.ToString());
    }

    private int RecordFailure(SyncError error)
    {
        int failures = 0;
        UpdateStatus(s =>
        {
            failures = s.ConsecutiveFailures + 1;
            return s.With(lastError: error, isStale: true, consecutiveFailures: failures);
        });
        return failures;
    }

    private int IncrementFailures()
    {
        int failures = 0;
        UpdateStatus(s =>
        {
            failures = s.ConsecutiveFailures + 1;
            return s.With(consecutiveFailures: failures);
        });
        return failures;
    }

    private void RecordError(SyncError error) => UpdateStatus(s => s.With(lastError: error));

    private void UpdateStatus(Func<KubernetesWatchStatus, KubernetesWatchStatus> change)
    {
        lock (_statusGate)
        {
            FoldLiveStatusLocked();
            Volatile.Write(ref _status, change(_status));
        }

        Signal();
    }

    private KubernetesWatchStatus FoldLiveStatus()
    {
        lock (_statusGate)
        {
            FoldLiveStatusLocked();
            return _status;
        }
    }

    private void FoldLiveStatusLocked()
    {
        if (_liveChanged)
        {
            Volatile.Write(ref _status, _status.With(lastSyncTime: _liveSyncTime, isStale: _liveStale, resourceVersion: _liveResourceVersion.Text));
            Volatile.Write(ref _liveChanged, false);
        }
    }

    /// <summary>Wakes the status waiters; does nothing (and allocates nothing) while there are none.</summary>
    private void Signal()
    {
        // The status was written before this; a full fence orders that write before the read of the waiter count,
        // as WaitForStatusAsync orders its count before its status read: one of the two always sees the other.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _statusWaiters) == 0)
        {
            return;
        }

        TaskCompletionSource previous = Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }

    /// <summary>How one watch connection ended.</summary>
    /// <param name="Changes">ADDED, MODIFIED and DELETED events received (bookmarks are not changes).</param>
    /// <param name="Elapsed">How long it stayed open.</param>
    /// <param name="Gone">The 410 error when the stream ended with one.</param>
    /// <param name="InitialEventsEnded">False for a streaming list that ended before its initial-events-end bookmark.</param>
    private readonly record struct WatchOutcome(int Changes, TimeSpan Elapsed, SyncError? Gone, bool InitialEventsEnded);
}
