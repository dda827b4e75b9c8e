using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>
/// A state-driven fake Kubernetes API server for one Service's EndpointSlices, on Kestrel (127.0.0.1, random
/// port). Unlike <see cref="FakeApiServer"/>, which plays a script, it keeps the slices and a resourceVersion
/// counter like kube-apiserver: a change bumps the version, is kept in a bounded history and goes out as a
/// watch event to every open WATCH; a WATCH from an old version first replays what it missed; a WATCH from a
/// version older than the history answers with an in-stream 410 Gone.
/// </summary>
/// <remarks>
/// <para>
/// LISTs are answered the way kube-apiserver 1.27–1.31 decides between its watch cache and etcd
/// (<c>shouldDelegateList</c> in <c>staging/src/k8s.io/apiserver/pkg/storage/cacher/cacher.go</c>): a LIST with
/// <c>resourceVersion=0</c> is served from the watch cache, which ignores <c>limit</c> (one page with everything)
/// unless <see cref="WatchCachePaginates"/>; a LIST with a version and no limit is served from the cache once the
/// cache has reached that version, and answers 504 "Too large resource version" while it has not; a LIST without a
/// version (a consistent read), with a version and a limit, or with a continue token goes to etcd. Every LIST is
/// recorded in <see cref="ListQueries"/>. <see cref="FreezeWatchCache"/> makes the cache lag: it keeps serving the
/// state of the moment it was frozen, as the cache of a lagging API server replica does.
/// </para>
/// </remarks>
/// <remarks>
/// Threading: every change, and every WATCH's registration with its replay, runs under one lock, so a watcher
/// sees each change exactly once and in order. Each open WATCH writes from its own queue on its own request.
/// </remarks>
public sealed class FakeCluster : IAsyncDisposable
{
    private const int HistoryLimit = 10_000;

    private readonly WebApplication _app;
    private readonly string _collectionPath;
    private readonly string _labelSelector;
    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, (FakeSlice Slice, long Version)> _slices = new(StringComparer.Ordinal);
    private readonly List<(long Version, byte[] Line)> _history = [];
    private readonly List<WatchStream> _watches = [];
    private readonly Dictionary<string, ListSnapshot> _continuations = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private long _version = 1;
    private long _oldestResumable = 1;
    private int _lists;
    private int _watchRequests;
    private int _continuationCounter;
    private ListSnapshot? _frozenCache;   // guarded by _gate; null while the watch cache is current
    private int _bookmarksSent;
    private long _bytesSent;

    private FakeCluster(WebApplication app, string @namespace, string service)
    {
        _app = app;
        Namespace = @namespace;
        Service = service;
        _collectionPath = $"/apis/discovery.k8s.io/v1/namespaces/{@namespace}/endpointslices";
        _labelSelector = "kubernetes.io/service-name=" + service;
    }

    /// <summary>The server's address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The namespace the slices live in.</summary>
    public string Namespace { get; }

    /// <summary>The Service the slices belong to (their <c>kubernetes.io/service-name</c> label).</summary>
    public string Service { get; }

    /// <summary>The current resourceVersion.</summary>
    public long ResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _version;
            }
        }
    }

    /// <summary>LIST requests served (every page counts).</summary>
    public int ListRequests => Volatile.Read(ref _lists);

    /// <summary>Every LIST request in arrival order: what it asked for and where it was served from.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<ListQuery> ListQueries { get; } = new();

    /// <summary>LIST requests (pages) that went to etcd rather than the watch cache.</summary>
    public int EtcdListRequests => ListQueries.Count(q => !q.FromWatchCache);

    /// <summary>
    /// Whether a <c>resourceVersion=0</c> LIST served from the watch cache honours <c>limit</c> (pages with continue
    /// tokens). Default: false, as kube-apiserver before 1.33 (the cache ignores the limit and answers in one page).
    /// </summary>
    public bool WatchCachePaginates { get; set; }

    /// <summary>
    /// How often each WATCH that asked for bookmarks gets one (the cacher's cadence is one minute); one more comes
    /// <see cref="BookmarkLeadTime"/> before the watch's <c>timeoutSeconds</c> deadline and none after it
    /// (<c>nextBookmarkTime</c> in <c>staging/src/k8s.io/apiserver/pkg/storage/cacher/cache_watcher.go</c>).
    /// <see langword="null"/> for none. Default: one minute.
    /// </summary>
    public TimeSpan? BookmarkInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long before a watch's deadline its last bookmark is sent. Default: 2 s, as the cacher.</summary>
    public TimeSpan BookmarkLeadTime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Response body bytes written so far (LIST pages, watch events, bookmarks, errors), for cost figures.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Bookmarks sent so far, on every watch.</summary>
    public int BookmarksSent => Volatile.Read(ref _bookmarksSent);

    /// <summary>Every request as (connection id, protocol, path and query), in arrival order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(string ConnectionId, string Protocol, string Target)> Requests { get; } = new();

    /// <summary>
    /// The Service's <c>spec.ports</c>, served at <c>/api/v1/namespaces/{ns}/services/{name}</c>; <see langword="null"/>
    /// (the default) answers 404, as for a missing Service.
    /// </summary>
    public IReadOnlyList<FakeServicePort>? ServicePorts { get; set; }

    /// <summary>When true, a GET of the Service answers 403, as for a client without <c>get</c> on services.</summary>
    public bool ServiceForbidden { get; set; }

    /// <summary>When true, every continue token is answered 410 Expired, as after more than ~5 minutes between pages.</summary>
    public bool ContinueTokensExpire { get; set; }

    /// <summary>WATCH requests received.</summary>
    public int WatchRequests => Volatile.Read(ref _watchRequests);

    /// <summary>WATCH connections open now.</summary>
    public int OpenWatches
    {
        get
        {
            lock (_gate)
            {
                return _watches.Count;
            }
        }
    }

    /// <summary>Starts a server for <paramref name="service"/> in <paramref name="namespace"/>, with no slices.</summary>
    /// <param name="namespace">The namespace.</param>
    /// <param name="service">The Service.</param>
    /// <param name="tlsCertificate">
    /// <see langword="null"/> for plain HTTP/1.1 (as kubectl proxy); a certificate for HTTPS offering HTTP/2 and
    /// HTTP/1.1 by ALPN, as kube-apiserver does.
    /// </param>
    /// <param name="offerHttp2">With TLS: offer HTTP/2 by ALPN (default), or HTTP/1.1 only, as a proxy or an old load balancer in front of the API server.</param>
    public static async Task<FakeCluster> StartAsync(string @namespace, string service, System.Security.Cryptography.X509Certificates.X509Certificate2? tlsCertificate = null, bool offerHttp2 = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        ArgumentException.ThrowIfNullOrEmpty(service);
        // No request can arrive before the address is known, which is after cluster is assigned.
        FakeCluster? cluster = null;
        Action<Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions>? listen = tlsCertificate is null
            ? null
            : options =>
            {
                options.Protocols = offerHttp2 ? Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1AndHttp2 : Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1;
                options.UseHttps(tlsCertificate);
            };
        (WebApplication app, Uri address) = await LoopbackKestrel.StartAsync(context => cluster!.HandleAsync(context), listen);
        cluster = new FakeCluster(app, @namespace, service) { BaseAddress = address };
        return cluster;
    }

    /// <summary>Creates or replaces a slice (ADDED or MODIFIED) and returns the new resourceVersion.</summary>
    public long Apply(FakeSlice slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        lock (_gate)
        {
            long version = ++_version;
            string type = _slices.ContainsKey(slice.Name) ? "MODIFIED" : "ADDED";
            _slices[slice.Name] = (slice, version);
            Publish(version, EventLine(type, slice, version));
            return version;
        }
    }

    /// <summary>
    /// Creates or replaces several slices, one resourceVersion each, and sends their events to every open WATCH in
    /// one write, as the API server batches the events it has ready into one chunk. Returns the last resourceVersion.
    /// </summary>
    public long ApplyBatch(params FakeSlice[] slices)
    {
        ArgumentNullException.ThrowIfNull(slices);
        lock (_gate)
        {
            var batch = new List<byte>();
            foreach (FakeSlice slice in slices)
            {
                long version = ++_version;
                string type = _slices.ContainsKey(slice.Name) ? "MODIFIED" : "ADDED";
                _slices[slice.Name] = (slice, version);
                byte[] line = EventLine(type, slice, version);
                Record(version, line);
                batch.AddRange(line);
            }

            byte[] chunk = [.. batch];
            foreach (WatchStream watch in _watches)
            {
                watch.Queue.Writer.TryWrite(chunk);
            }

            return _version;
        }
    }

    /// <summary>
    /// Every open WATCH goes silent and stays open: no event, no bookmark, no end, not even at its deadline, as a
    /// connection whose far end vanished behind a NAT or load balancer that still acknowledges. Only the client can
    /// end it. WATCHes opened later are served normally.
    /// </summary>
    /// <returns>How many watches went silent.</returns>
    public int HalfOpenWatches()
    {
        lock (_gate)
        {
            foreach (WatchStream watch in _watches)
            {
                watch.HalfOpen = true;
            }

            return _watches.Count;
        }
    }

    /// <summary>Deletes a slice (DELETED) and returns the new resourceVersion.</summary>
    /// <exception cref="ArgumentException">No slice has that name.</exception>
    public long Delete(string name)
    {
        lock (_gate)
        {
            if (!_slices.Remove(name, out (FakeSlice Slice, long Version) held))
            {
                throw new ArgumentException($"There is no slice named '{name}'.", nameof(name));
            }

            long version = ++_version;
            Publish(version, EventLine("DELETED", held.Slice, version));
            return version;
        }
    }

    /// <summary>
    /// Makes the watch cache lag from now on: cached LISTs serve the current state and version until
    /// <see cref="ResumeWatchCache"/>, LISTs and WATCHes from a later version answer 504 "Too large resource version".
    /// </summary>
    public void FreezeWatchCache()
    {
        lock (_gate)
        {
            _frozenCache ??= Snapshot();
        }
    }

    /// <summary>The watch cache catches up with the current state.</summary>
    public void ResumeWatchCache()
    {
        lock (_gate)
        {
            _frozenCache = null;
        }
    }

    /// <summary>Cuts every open WATCH connection (TCP reset), as a restarting API server or proxy does.</summary>
    /// <returns>How many connections were cut.</returns>
    public int DropWatches()
    {
        lock (_gate)
        {
            foreach (WatchStream watch in _watches)
            {
                watch.Queue.Writer.TryWrite(WatchStream.Abort);
            }

            int count = _watches.Count;
            _watches.Clear();
            return count;
        }
    }

    /// <summary>
    /// Compacts the history (no version up to now can be resumed from) and ends every open WATCH with an
    /// in-stream <c>ERROR</c> 410 Gone, as etcd compaction does: a watcher must LIST again.
    /// </summary>
    /// <returns>How many watches received the 410.</returns>
    public int ExpireWatches()
    {
        lock (_gate)
        {
            _oldestResumable = _version + 1;
            _history.Clear();
            byte[] gone = GoneLine(_version);
            foreach (WatchStream watch in _watches)
            {
                watch.Queue.Writer.TryWrite(gone);
                watch.Queue.Writer.TryWrite(WatchStream.End);
            }

            int count = _watches.Count;
            _watches.Clear();
            return count;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        lock (_gate)
        {
            foreach (WatchStream watch in _watches)
            {
                watch.Queue.Writer.TryWrite(WatchStream.End);
            }

            _watches.Clear();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    private void Publish(long version, byte[] line)
    {
        Record(version, line);
        foreach (WatchStream watch in _watches)
        {
            watch.Queue.Writer.TryWrite(line);
        }
    }

    // Called under _gate.
    private void Record(long version, byte[] line)
    {
        _history.Add((version, line));
        if (_history.Count > HistoryLimit)
        {
            // Older versions cannot be resumed from any more: a watch from one gets 410, like after compaction.
            _oldestResumable = _history[0].Version + 1;
            _history.RemoveAt(0);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        Requests.Enqueue((context.Connection.Id, context.Request.Protocol, context.Request.Path + context.Request.QueryString));
        if (context.Request.Path == $"/api/v1/namespaces/{Namespace}/services/{Service}")
        {
            await ServiceAsync(context);
            return;
        }

        if (context.Request.Path != _collectionPath)
        {
            await WriteAsync(context, 404, Payloads.Status(404, "NotFound", "the server could not find the requested resource"));
            return;
        }

        if (!string.Equals(context.Request.Query["labelSelector"], _labelSelector, StringComparison.Ordinal))
        {
            await WriteAsync(context, 400, Payloads.Status(400, "BadRequest", "expected labelSelector " + _labelSelector));
            return;
        }

        if (string.Equals(context.Request.Query["watch"], "true", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _watchRequests);
            await WatchAsync(context);
        }
        else
        {
            Interlocked.Increment(ref _lists);
            await ListAsync(context);
        }
    }

    private async Task ListAsync(HttpContext context)
    {
        IQueryCollection query = context.Request.Query;
        string? resourceVersion = query["resourceVersion"];
        int? limit = int.TryParse(query["limit"], CultureInfo.InvariantCulture, out int l) && l > 0 ? l : null;
        string? token = query["continue"];
        bool hasVersion = !string.IsNullOrEmpty(resourceVersion);

        // shouldDelegateList (1.27–1.31): etcd for a consistent read (no version), for continue pages, and for a
        // version other than "0" with a limit; the watch cache for everything else.
        bool fromCache = hasVersion && token is null && (resourceVersion == "0" || limit is null);
        ListQueries.Enqueue(new ListQuery(resourceVersion, query["resourceVersionMatch"], limit, token, query["labelSelector"], fromCache));

        ListSnapshot? page;
        string? next = null;
        string? tooLarge = null;
        lock (_gate)
        {
            ListSnapshot? snapshot;
            if (token is not null)
            {
                // A continue token that is unknown or already used counts as expired (kube-apiserver keeps them ~5 min).
                snapshot = _continuations.Remove(token, out ListSnapshot? held) && !ContinueTokensExpire ? held : null;
            }
            else if (fromCache)
            {
                ListSnapshot cache = _frozenCache ?? Snapshot();
                if (resourceVersion != "0" && long.TryParse(resourceVersion, CultureInfo.InvariantCulture, out long asked) && asked > cache.Version)
                {
                    tooLarge = TooLargeStatus(asked, cache.Version);
                }

                // The watch cache of servers before 1.33 ignores the limit for resourceVersion=0: one page.
                limit = WatchCachePaginates ? limit : null;
                snapshot = cache;
            }
            else
            {
                snapshot = Snapshot();
            }

            page = null;
            if (snapshot is not null && tooLarge is null)
            {
                int count = Math.Min(limit ?? int.MaxValue, snapshot.Items.Length - snapshot.Offset);
                if (snapshot.Offset + count < snapshot.Items.Length)
                {
                    next = "c" + (++_continuationCounter).ToString(CultureInfo.InvariantCulture);
                    _continuations[next] = snapshot with { Offset = snapshot.Offset + count };
                }

                page = snapshot with { Items = snapshot.Items[snapshot.Offset..(snapshot.Offset + count)] };
            }
        }

        if (tooLarge is not null)
        {
            // The cacher waits up to 3 s for its cache to reach the version, then gives up with this.
            context.Response.Headers.RetryAfter = "1";
            await WriteAsync(context, 504, tooLarge);
            return;
        }

        if (page is null)
        {
            await WriteAsync(context, 410, Payloads.Status(410, "Expired", "The provided continue parameter is too old"));
            return;
        }

        // Every page of one list carries the first page's resourceVersion: the list is one consistent snapshot.
        await WriteAsync(context, 200, Payloads.List(page.Version.ToString(CultureInfo.InvariantCulture), next, page.Items));
    }

    private async Task ServiceAsync(HttpContext context)
    {
        if (ServiceForbidden)
        {
            await WriteAsync(context, 403, Payloads.Status(403, "Forbidden", $"services \\\"{Service}\\\" is forbidden: User \\\"system:serviceaccount:{Namespace}:client\\\" cannot get resource \\\"services\\\" in API group \\\"\\\" in the namespace \\\"{Namespace}\\\""));
            return;
        }

        if (ServicePorts is not IReadOnlyList<FakeServicePort> ports)
        {
            await WriteAsync(context, 404, Payloads.Status(404, "NotFound", $"services \\\"{Service}\\\" not found"));
            return;
        }

        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("kind", "Service");
            json.WriteString("apiVersion", "v1");
            json.WriteStartObject("metadata");
            json.WriteString("name", Service);
            json.WriteString("namespace", Namespace);
            json.WriteEndObject();
            json.WriteStartObject("spec");
            json.WriteString("clusterIP", "None");
            if (ports.Count > 0)
            {
                json.WriteStartArray("ports");
                foreach (FakeServicePort port in ports)
                {
                    json.WriteStartObject();
                    if (port.Name.Length > 0)
                    {
                        json.WriteString("name", port.Name);
                    }

                    json.WriteString("protocol", "TCP");
                    json.WriteNumber("port", port.Port);
                    if (int.TryParse(port.TargetPort, CultureInfo.InvariantCulture, out int target))
                    {
                        json.WriteNumber("targetPort", target);
                    }
                    else
                    {
                        json.WriteString("targetPort", port.TargetPort);
                    }

                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        await WriteAsync(context, 200, Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    // Called under _gate.
    private ListSnapshot Snapshot() => new(_version, [.. _slices.Values.Select(v => SliceJson(v.Slice, v.Version))]);

    /// <summary>The Status kube-apiserver answers for a version its watch cache has not reached (<c>NewTooLargeResourceVersionError</c>).</summary>
    private static string TooLargeStatus(long asked, long current)
        => Payloads.TooLargeResourceVersionStatus(asked.ToString(CultureInfo.InvariantCulture), current.ToString(CultureInfo.InvariantCulture));

    private async Task WatchAsync(HttpContext context)
    {
        string? from = context.Request.Query["resourceVersion"];
        TimeSpan? timeout = int.TryParse(context.Request.Query["timeoutSeconds"], CultureInfo.InvariantCulture, out int seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : null;
        var watch = new WatchStream();
        lock (_gate)
        {
            if (!long.TryParse(from, CultureInfo.InvariantCulture, out long version) || version == 0)
            {
                // No version (or "0"): the current state as ADDED events, then live changes.
                foreach ((FakeSlice slice, long v) in _slices.Values)
                {
                    watch.Queue.Writer.TryWrite(EventLine("ADDED", slice, v));
                }

                _watches.Add(watch);
            }
            else if (version > (_frozenCache?.Version ?? _version))
            {
                // A watch ahead of this server's cache (a lagging replica): an in-stream 504, as the cacher sends it.
                watch.Queue.Writer.TryWrite(Encoding.UTF8.GetBytes("{\"type\":\"ERROR\",\"object\":" + TooLargeStatus(version, _frozenCache?.Version ?? _version) + "}\n"));
                watch.Queue.Writer.TryWrite(WatchStream.End);
            }
            else if (version < _oldestResumable - 1)
            {
                watch.Queue.Writer.TryWrite(GoneLine(_version, version));
                watch.Queue.Writer.TryWrite(WatchStream.End);
            }
            else
            {
                foreach ((long v, byte[] line) in _history)
                {
                    if (v > version)
                    {
                        watch.Queue.Writer.TryWrite(line);
                    }
                }

                _watches.Add(watch);
            }
        }

        using var aborted = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(aborted.Token);
        if (timeout is TimeSpan t)
        {
            deadline.CancelAfter(t);
        }

        Task bookmarks = string.Equals(context.Request.Query["allowWatchBookmarks"], "true", StringComparison.Ordinal) && BookmarkInterval is TimeSpan every
            ? SendBookmarksAsync(watch, every, timeout, deadline.Token)
            : Task.CompletedTask;
        try
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await context.Response.StartAsync(aborted.Token);
            await context.Response.Body.FlushAsync(aborted.Token);
            await foreach (byte[] item in watch.Queue.Reader.ReadAllAsync(deadline.Token))
            {
                if (watch.HalfOpen)
                {
                    break;
                }

                if (ReferenceEquals(item, WatchStream.End))
                {
                    return;
                }

                if (ReferenceEquals(item, WatchStream.Abort))
                {
                    context.Abort();
                    return;
                }

                await context.Response.Body.WriteAsync(item, aborted.Token);
                await context.Response.Body.FlushAsync(aborted.Token);
                Interlocked.Add(ref _bytesSent, item.Length);
            }
        }
        catch (OperationCanceledException)
        {
            // timeoutSeconds elapsed (the server ends the watch normally), the client left, or the server stops.
        }
        catch (IOException)
        {
            // The client went away mid-write.
        }
        finally
        {
            if (watch.HalfOpen)
            {
                // Silent and open until the client gives up (or the fake stops).
                try
                {
                    await Task.Delay(Timeout.Infinite, aborted.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }

            await deadline.CancelAsync();
            await bookmarks;
            lock (_gate)
            {
                _watches.Remove(watch);
            }
        }
    }

    /// <summary>The cacher's bookmark timing for one watch: every <paramref name="every"/>, and a last one shortly before its deadline.</summary>
    private async Task SendBookmarksAsync(WatchStream watch, TimeSpan every, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            while (true)
            {
                TimeSpan now = System.Diagnostics.Stopwatch.GetElapsedTime(started);
                TimeSpan next = now + every;
                bool last = false;
                if (timeout is TimeSpan t && t - BookmarkLeadTime <= next)
                {
                    next = t - BookmarkLeadTime;
                    last = true;
                }

                if (next < now)
                {
                    return; // too close to the deadline: no more bookmarks
                }

                await Task.Delay(next - now, cancellationToken);
                lock (_gate)
                {
                    if (!watch.HalfOpen)
                    {
                        // Under the lock that orders events: the bookmark follows every event up to its version.
                        watch.Queue.Writer.TryWrite(Encoding.UTF8.GetBytes(Payloads.WatchCacheBookmark(_version.ToString(CultureInfo.InvariantCulture)) + "\n"));
                        Interlocked.Increment(ref _bookmarksSent);
                    }
                }

                if (last)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task WriteAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        byte[] bytes = Encoding.UTF8.GetBytes(body);
        Interlocked.Add(ref _bytesSent, bytes.Length);
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
    }

    private static byte[] GoneLine(long current, long? asked = null)
        => Encoding.UTF8.GetBytes(Payloads.Gone(
            "Expired",
            string.Create(CultureInfo.InvariantCulture, $"too old resource version: {asked ?? current} ({current})")) + "\n");

    private byte[] EventLine(string type, FakeSlice slice, long version)
        => Encoding.UTF8.GetBytes(Payloads.Event(type, SliceJson(slice, version)) + "\n");

    private string SliceJson(FakeSlice slice, long version)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("kind", "EndpointSlice");
            json.WriteString("apiVersion", "discovery.k8s.io/v1");
            json.WriteStartObject("metadata");
            json.WriteString("name", slice.Name);
            json.WriteString("namespace", Namespace);
            json.WriteString("uid", "uid-" + slice.Name);
            json.WriteString("resourceVersion", version.ToString(CultureInfo.InvariantCulture));
            json.WriteStartObject("labels");
            json.WriteString("endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io");
            json.WriteString("kubernetes.io/service-name", Service);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteString("addressType", slice.Endpoints.Any(e => e.Address.Contains(':', StringComparison.Ordinal)) ? "IPv6" : "IPv4");
            json.WriteStartArray("endpoints");
            foreach (FakeSliceEndpoint endpoint in slice.Endpoints)
            {
                json.WriteStartObject();
                json.WriteStartArray("addresses");
                json.WriteStringValue(endpoint.Address);
                json.WriteEndArray();
                json.WriteStartObject("conditions");
                json.WriteBoolean("ready", endpoint.Ready);
                json.WriteBoolean("serving", endpoint.Serving);
                json.WriteBoolean("terminating", endpoint.Terminating);
                json.WriteEndObject();
                json.WriteStartObject("targetRef");
                json.WriteString("kind", "Pod");
                json.WriteString("namespace", Namespace);
                json.WriteString("name", endpoint.PodName);
                json.WriteEndObject();
                json.WriteString("nodeName", "node-1");
                json.WriteString("zone", "zone-a");
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("ports");
            if (slice.Portless)
            {
                json.WriteEndArray();
                json.WriteEndObject();
                json.Flush();
                return Encoding.UTF8.GetString(buffer.WrittenSpan);
            }

            json.WriteStartObject();
            json.WriteString("name", slice.PortName);
            json.WriteString("protocol", "TCP");
            json.WriteNumber("port", slice.Port);
            json.WriteEndObject();
            foreach ((string name, int port) in slice.MorePorts)
            {
                json.WriteStartObject();
                json.WriteString("name", name);
                json.WriteString("protocol", "TCP");
                json.WriteNumber("port", port);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private sealed record ListSnapshot(long Version, string[] Items, int Offset = 0);

    private sealed class WatchStream
    {
        // Sentinels compared by reference: end the response normally, or reset the connection.
        public static readonly byte[] End = new byte[1];
        public static readonly byte[] Abort = new byte[1];

        public Channel<byte[]> Queue { get; } = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });

        /// <summary>Set once: the watch sends nothing more and never ends by itself.</summary>
        public volatile bool HalfOpen;
    }
}
