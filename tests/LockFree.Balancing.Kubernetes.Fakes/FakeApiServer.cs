using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>
/// A fake Kubernetes API server on Kestrel (127.0.0.1, random port) serving EndpointSlice LIST (paged) and
/// chunked WATCH, and misbehaving on command: HTTP errors, hangs, cut connections, in-stream errors.
/// </summary>
public sealed class FakeApiServer : IAsyncDisposable
{
    private const string CollectionPath = "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices";
    private const string LegacyPath = "/api/v1/namespaces/shop/endpoints";

    private readonly WebApplication _app;
    private readonly Channel<WatchConnection> _watches = Channel.CreateUnbounded<WatchConnection>();
    private readonly ConcurrentQueue<WatchConnection> _allWatches = new();
    private readonly ConcurrentQueue<(int Status, string Body, string? RetryAfter)> _listFailures = new();
    private readonly ConcurrentQueue<(int Status, string Body, string? RetryAfter)> _watchFailures = new();
    private readonly CancellationTokenSource _stopping = new();
    private volatile int _hangNextWatchHeaders;
    private volatile ListState _list = new("1", []);
    private volatile ListState _legacyList = new("1", []);

    private FakeApiServer(WebApplication app)
    {
        _app = app;
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Whether <c>/apis/discovery.k8s.io/v1</c> (API discovery) answers 200; false simulates a cluster older than 1.21.</summary>
    public bool ServesDiscoveryApi { get; set; } = true;

    /// <summary>How a streaming list request is answered. Default: <see cref="StreamingListSupport.Supported"/>.</summary>
    public StreamingListSupport StreamingList { get; set; } = StreamingListSupport.Supported;

    /// <summary>When set, requests without <c>Authorization: Bearer</c> this token get 401.</summary>
    public string? RequiredToken { get; set; }

    /// <summary>Every request, as path and query, in arrival order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The Authorization header of every request ("" when absent).</summary>
    public ConcurrentQueue<string> Authorizations { get; } = new();

    /// <summary>The subject of the TLS client certificate of every request ("" when none was presented).</summary>
    public ConcurrentQueue<string> ClientCertificateSubjects { get; } = new();

    /// <summary>The protocol of every request ("HTTP/1.1", "HTTP/2").</summary>
    public ConcurrentQueue<string> Protocols { get; } = new();

    public static async Task<FakeApiServer> StartAsync(X509Certificate2? tlsCertificate = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (tlsCertificate is not null)
            {
                // Client certificates are accepted but not required, so tests can see what a client presented.
                listen.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions
                {
                    ServerCertificate = tlsCertificate,
                    ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.AllowCertificate,
                    ClientCertificateValidation = static (_, _, _) => true,
                });
            }
        }));
        WebApplication app = builder.Build();
        var server = new FakeApiServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address + "/");
        return server;
    }

    /// <summary>Sets what LIST returns from now on.</summary>
    public void SetList(string resourceVersion, params string[] slices) => _list = new ListState(resourceVersion, slices);

    /// <summary>Sets what a legacy core/v1 Endpoints LIST (<c>fieldSelector=metadata.name=web</c>) returns from now on; <see langword="null"/> for no object.</summary>
    public void SetLegacyEndpoints(string resourceVersion, string? endpoints)
        => _legacyList = new ListState(resourceVersion, endpoints is null ? [] : [endpoints]);

    public void FailNextList(int status, string body = "", string? retryAfter = null) => _listFailures.Enqueue((status, body, retryAfter));

    public void FailNextWatch(int status, string body = "", string? retryAfter = null) => _watchFailures.Enqueue((status, body, retryAfter));

    /// <summary>The next WATCH never answers (no headers, no bytes).</summary>
    public void HangNextWatchHeaders() => _hangNextWatchHeaders = 1;

    /// <summary>Waits for the next WATCH to connect.</summary>
    public async Task<WatchConnection> NextWatchAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await _watches.Reader.ReadAsync(cts.Token);
    }

    public int CountRequests(string contains) => Requests.Count(r => r.Contains(contains, StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        foreach (WatchConnection watch in _allWatches)
        {
            watch.Complete();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        Requests.Enqueue(context.Request.Path + context.Request.QueryString);
        Authorizations.Enqueue(context.Request.Headers.Authorization.ToString());
        ClientCertificateSubjects.Enqueue(context.Connection.ClientCertificate?.Subject ?? string.Empty);
        Protocols.Enqueue(context.Request.Protocol);
        if (RequiredToken is string token && !string.Equals(context.Request.Headers.Authorization, "Bearer " + token, StringComparison.Ordinal))
        {
            await WriteAsync(context, 401, Payloads.Status(401, "Unauthorized", "Unauthorized"));
            return;
        }

        if (context.Request.Path == "/apis/discovery.k8s.io/v1" && ServesDiscoveryApi)
        {
            await WriteAsync(context, 200, "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"discovery.k8s.io/v1\",\"resources\":[{\"name\":\"endpointslices\",\"namespaced\":true,\"kind\":\"EndpointSlice\",\"verbs\":[\"get\",\"list\",\"watch\"]}]}");
            return;
        }

        if (context.Request.Path == LegacyPath)
        {
            await LegacyAsync(context);
            return;
        }

        if (context.Request.Path != CollectionPath)
        {
            await WriteAsync(context, 404, Payloads.Status(404, "NotFound", "the server could not find the requested resource"));
            return;
        }

        if (!string.Equals(context.Request.Query["labelSelector"], "kubernetes.io/service-name=web", StringComparison.Ordinal))
        {
            await WriteAsync(context, 400, Payloads.Status(400, "BadRequest", "unexpected label selector"));
            return;
        }

        if (string.Equals(context.Request.Query["watch"], "true", StringComparison.Ordinal))
        {
            await WatchAsync(context);
        }
        else
        {
            await ListAsync(context);
        }
    }

    private async Task LegacyAsync(HttpContext context)
    {
        if (!string.Equals(context.Request.Query["fieldSelector"], "metadata.name=web", StringComparison.Ordinal))
        {
            await WriteAsync(context, 400, Payloads.Status(400, "BadRequest", "unexpected field selector"));
            return;
        }

        if (string.Equals(context.Request.Query["watch"], "true", StringComparison.Ordinal))
        {
            await WatchAsync(context);
            return;
        }

        if (_listFailures.TryDequeue(out (int Status, string Body, string? RetryAfter) failure))
        {
            await WriteAsync(context, failure.Status, failure.Body);
            return;
        }

        ListState list = _legacyList;
        await WriteAsync(context, 200, Payloads.LegacyList(list.ResourceVersion, list.Slices));
    }

    private async Task ListAsync(HttpContext context)
    {
        if (_listFailures.TryDequeue(out (int Status, string Body, string? RetryAfter) failure))
        {
            if (failure.RetryAfter is not null)
            {
                context.Response.Headers.RetryAfter = failure.RetryAfter;
            }

            await WriteAsync(context, failure.Status, failure.Body);
            return;
        }

        ListState list = _list;
        int limit = int.TryParse(context.Request.Query["limit"], CultureInfo.InvariantCulture, out int l) && l > 0 ? l : int.MaxValue;
        string? token = context.Request.Query["continue"];
        int offset = token is null ? 0 : int.Parse(token.AsSpan(1), CultureInfo.InvariantCulture);
        string[] page = [.. list.Slices.Skip(offset).Take(limit)];
        string? next = offset + page.Length < list.Slices.Length ? "c" + (offset + page.Length).ToString(CultureInfo.InvariantCulture) : null;
        await WriteAsync(context, 200, Payloads.List(list.ResourceVersion, next, page));
    }

    private async Task WatchAsync(HttpContext context)
    {
        if (_watchFailures.TryDequeue(out (int Status, string Body, string? RetryAfter) failure))
        {
            if (failure.RetryAfter is not null)
            {
                context.Response.Headers.RetryAfter = failure.RetryAfter;
            }

            await WriteAsync(context, failure.Status, failure.Body);
            return;
        }

        if (Interlocked.Exchange(ref _hangNextWatchHeaders, 0) == 1)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
            try
            {
                await Task.Delay(Timeout.Infinite, linked.Token);
            }
            catch (OperationCanceledException)
            {
            }

            return;
        }

        var connection = new WatchConnection(context.Request.Query);
        if (string.Equals(context.Request.Query["sendInitialEvents"], "true", StringComparison.Ordinal) && !await StartStreamingListAsync(context, connection))
        {
            return;
        }

        _allWatches.Enqueue(connection);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.StartAsync(context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
        _watches.Writer.TryWrite(connection);
        if (_stopping.IsCancellationRequested)
        {
            connection.Complete();
        }

        await connection.RunAsync(context);
    }

    // Queues the initial events of a streaming list on the connection; false when the request was answered with an error.
    private async Task<bool> StartStreamingListAsync(HttpContext context, WatchConnection connection)
    {
        switch (StreamingList)
        {
            case StreamingListSupport.Rejected422:
                await WriteAsync(context, 422, Payloads.Status(422, "Invalid", "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"));
                return false;
            case StreamingListSupport.Rejected400:
                await WriteAsync(context, 400, Payloads.Status(400, "BadRequest", "unknown parameter sendInitialEvents"));
                return false;
        }

        if (StreamingList == StreamingListSupport.Supported
            && (!string.Equals(context.Request.Query["resourceVersionMatch"], "NotOlderThan", StringComparison.Ordinal)
                || !string.Equals(context.Request.Query["allowWatchBookmarks"], "true", StringComparison.Ordinal)))
        {
            await WriteAsync(context, 422, Payloads.Status(422, "Invalid", "sendInitialEvents requires resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true"));
            return false;
        }

        ListState list = _list;
        foreach (string slice in list.Slices)
        {
            connection.Send(Payloads.Event("ADDED", slice));
        }

        if (StreamingList == StreamingListSupport.Supported)
        {
            connection.Send(Payloads.Bookmark(list.ResourceVersion, initialEventsEnd: true));
        }

        return true;
    }

    private static async Task WriteAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        byte[] bytes = Encoding.UTF8.GetBytes(body);
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
    }

    private sealed record ListState(string ResourceVersion, string[] Slices);
}
