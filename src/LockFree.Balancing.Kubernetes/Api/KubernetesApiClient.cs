using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using LockFree.Balancing.Kubernetes.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using System.Text;
using LockFree.Balancing.Kubernetes.Watch;

namespace LockFree.Balancing.Kubernetes.Api;

/// <summary>
/// The few calls the watcher makes: LIST one page and open a WATCH, for the EndpointSlices of one Service.
/// </summary>
/// <remarks>
/// Failures become <see cref="KubernetesApiException"/>s whose <see cref="SyncError"/> holds the URL, the status code
/// and a message that helps (a 403 names the namespace, the resource and the verb). Thread-safe as
/// <see cref="HttpClient"/> is; the token is never put in a message.
/// </remarks>
internal sealed class KubernetesApiClient : IDisposable
{
    private const string SliceResource = "endpointslices.discovery.k8s.io";
    private const string LegacyResource = "endpoints (core API group)";
    private const int MaxErrorBodyBytes = 64 * 1024;

    private readonly ServiceReference _service;
    private readonly KubernetesWatcherOptions _options;
    private readonly string _collectionUrl;
    private readonly string _selectorQuery;
    private readonly ICredentialSource _token;
    private readonly KubernetesTransport _transport;
    private readonly KubernetesTransport? _ownedTransport;
    private readonly ILogger _logger;

    /// <param name="service">The Service whose slices are listed and watched.</param>
    /// <param name="options">Validated options.</param>
    /// <param name="logger">Where credential sources log.</param>
    /// <param name="transport">A shared transport (kept by its owner), or <see langword="null"/> for one of its own.</param>
    public KubernetesApiClient(ServiceReference service, KubernetesWatcherOptions options, ILogger? logger = null, KubernetesTransport? transport = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _service = service;
        _options = options;
        _ownedTransport = transport is null ? KubernetesTransport.Create(options, _logger) : null;
        _transport = transport ?? _ownedTransport!;
        _token = _transport.Credentials;
        string baseUrl = options.ApiServer.AbsoluteUri.TrimEnd('/');
        string ns = Uri.EscapeDataString(service.Namespace);
        if (options.UseLegacyEndpoints)
        {
            // core/v1 Endpoints: one object named after the Service, selected by name so list and watch see only it.
            _collectionUrl = $"{baseUrl}/api/v1/namespaces/{ns}/endpoints";
            _selectorQuery = "fieldSelector=" + Uri.EscapeDataString("metadata.name=" + service.Name);
        }
        else
        {
            _collectionUrl = $"{baseUrl}/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices";
            _selectorQuery = "labelSelector=" + Uri.EscapeDataString("kubernetes.io/service-name=" + service.Name);
        }
    }

    /// <summary>
    /// A LIST page URL, as client-go's reflector asks for it: <c>resourceVersion</c> is <c>"0"</c> (any version, served
    /// from the API server's watch cache), a version (not older than it, from the watch cache), or empty (a consistent
    /// read, from etcd); <c>limit</c> only when <paramref name="limit"/> is set.
    /// </summary>
    public Uri ListUrl(string resourceVersion, int? limit, string? continueToken)
    {
        var url = new StringBuilder(_collectionUrl).Append('?').Append(_selectorQuery);
        if (resourceVersion.Length > 0)
        {
            url.Append("&resourceVersion=").Append(Uri.EscapeDataString(resourceVersion));
        }

        if (limit is int pageSize)
        {
            url.Append("&limit=").Append(pageSize.ToString(CultureInfo.InvariantCulture));
        }

        if (continueToken is not null)
        {
            url.Append("&continue=").Append(Uri.EscapeDataString(continueToken));
        }

        return new Uri(url.ToString());
    }

    /// <summary>A WATCH from <paramref name="resourceVersion"/>, or a streaming list (initial state as ADDED events, then the initial-events-end bookmark) when it is <see langword="null"/>.</summary>
    public Uri WatchUrl(string? resourceVersion)
    {
        long timeoutSeconds = (long)Math.Ceiling(_options.WatchTimeout.TotalSeconds);
        string from = resourceVersion is null
            ? "sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
            : "resourceVersion=" + Uri.EscapeDataString(resourceVersion);
        return new Uri(string.Create(CultureInfo.InvariantCulture, $"{_collectionUrl}?{_selectorQuery}&watch=true&{from}&allowWatchBookmarks=true&timeoutSeconds={timeoutSeconds}"));
    }

    /// <summary>Fetches one LIST page; slices equal to those in <paramref name="known"/> come back as the held instances.</summary>
    public async Task<EndpointSliceList> ListPageAsync(string resourceVersion, int? limit, string? continueToken, Utf8StringCache cache, Slices.EndpointSliceSet? known, CancellationToken cancellationToken)
    {
        Uri url = ListUrl(resourceVersion, limit, continueToken);
        using var deadline = new CancellationTokenSource(_options.RequestTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            using HttpResponseMessage response = await SendAsync(url, linked.Token).ConfigureAwait(false);
            await EnsureSuccessAsync(url, response, "list", linked.Token).ConfigureAwait(false);
            Stream body = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                using PooledBody page = await BodyReader.ReadAsync(body, _options.MaxListPageBytes, "list page", linked.Token).ConfigureAwait(false);
                return _options.UseLegacyEndpoints
                    ? KubernetesJson.ParseLegacyList(page.Span, cache)
                    : KubernetesJson.ParseList(page.Span, cache, known);
            }
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new KubernetesApiException(Error(url, null, $"the LIST did not complete within {_options.RequestTimeout.TotalSeconds:0.###} s"), ex);
        }
        catch (HttpRequestException ex)
        {
            throw new KubernetesApiException(Error(url, null, "the request failed: " + ex.Message), ex);
        }
        catch (IOException ex)
        {
            throw new KubernetesApiException(Error(url, null, "the LIST response could not be read: " + ex.Message), ex);
        }
    }

    /// <summary>Opens a WATCH; the caller owns (and disposes) the response.</summary>
    /// <param name="resourceVersion">Where to resume; <see langword="null"/> for a streaming list.</param>
    /// <param name="cancellationToken">Cancels the request (the caller's deadline included).</param>
    public async Task<HttpResponseMessage> OpenWatchAsync(string? resourceVersion, CancellationToken cancellationToken)
    {
        Uri url = WatchUrl(resourceVersion);
        HttpResponseMessage? response = null;
        try
        {
            response = await SendAsync(url, cancellationToken).ConfigureAwait(false);
            await EnsureSuccessAsync(url, response, "watch", cancellationToken).ConfigureAwait(false);
            HttpResponseMessage result = response;
            response = null;
            return result;
        }
        catch (HttpRequestException ex)
        {
            throw new KubernetesApiException(Error(url, null, "the request failed: " + ex.Message), ex);
        }
        finally
        {
            response?.Dispose();
        }
    }

    /// <summary>
    /// GETs the Service's <c>spec.ports</c> (<c>/api/v1/namespaces/{ns}/services/{name}</c>), to map a Service port to
    /// the target port the EndpointSlices list. Needs <c>get</c> on <c>services</c> in the core group.
    /// </summary>
    /// <exception cref="KubernetesApiException">The call failed; a 403 says which permission is missing and what works without it.</exception>
    public async Task<IReadOnlyList<ServicePort>> GetServicePortsAsync(CancellationToken cancellationToken)
    {
        Uri url = new(string.Create(CultureInfo.InvariantCulture, $"{_options.ApiServer.AbsoluteUri.TrimEnd('/')}/api/v1/namespaces/{Uri.EscapeDataString(_service.Namespace)}/services/{Uri.EscapeDataString(_service.Name)}"));
        using var deadline = new CancellationTokenSource(_options.RequestTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            using HttpResponseMessage response = await SendAsync(url, linked.Token).ConfigureAwait(false);
            int code = (int)response.StatusCode;
            string port = _service.Port?.ToString(CultureInfo.InvariantCulture) ?? "?";
            if (code == 403)
            {
                throw new KubernetesApiException(Error(url, 403,
                    $"forbidden: mapping Service port {port} to the target port its EndpointSlices list needs 'get' on services (API group \"\") in namespace '{_service.Namespace}'; grant it, or name the port ({_service.Name}.{_service.Namespace}:portname) or give the target port number."));
            }

            if (code == 404)
            {
                throw new KubernetesApiException(Error(url, 404, $"not found: Service '{_service.Name}' in namespace '{_service.Namespace}' does not exist, so port {port} cannot be mapped to a target port."));
            }

            await EnsureSuccessAsync(url, response, "get", linked.Token).ConfigureAwait(false);
            Stream body = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                using PooledBody bytes = await BodyReader.ReadAsync(body, MaxErrorBodyBytes * 16, "Service", linked.Token).ConfigureAwait(false);
                return KubernetesJson.ParseServicePorts(bytes.Span);
            }
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new KubernetesApiException(Error(url, null, $"the GET of the Service did not complete within {_options.RequestTimeout.TotalSeconds:0.###} s"), ex);
        }
        catch (HttpRequestException ex)
        {
            throw new KubernetesApiException(Error(url, null, "the request failed: " + ex.Message), ex);
        }
        catch (IOException ex)
        {
            throw new KubernetesApiException(Error(url, null, "the Service could not be read: " + ex.Message), ex);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new KubernetesApiException(Error(url, 200, "the Service is not valid JSON: " + ex.Message), ex);
        }
    }

    /// <summary>
    /// Tells a missing API group from a wrong URL after a 404, by asking the discovery endpoint of
    /// <c>discovery.k8s.io/v1</c> (readable by every authenticated user through the default <c>system:discovery</c> role).
    /// </summary>
    private async Task<string> DescribeNotFoundAsync(CancellationToken cancellationToken)
    {
        Uri groupUrl = new(_options.ApiServer.AbsoluteUri.TrimEnd('/') + "/apis/discovery.k8s.io/v1");
        int? probe;
        try
        {
            using HttpResponseMessage response = await SendAsync(groupUrl, cancellationToken).ConfigureAwait(false);
            probe = (int)response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or KubernetesApiException)
        {
            probe = null;
        }

        return probe switch
        {
            404 => "not found: the API server does not serve discovery.k8s.io/v1 (EndpointSlices need Kubernetes 1.21 or later).",
            >= 200 and < 300 => $"not found: the API server serves discovery.k8s.io/v1 but not endpointslices in namespace '{_service.Namespace}' at this URL; check the API server address (and any path prefix) and the namespace.",
            _ => $"not found: either namespace '{_service.Namespace}' or the discovery.k8s.io/v1 API (Kubernetes 1.21 or later) is missing.",
        };
    }

    /// <summary>The server's <c>Retry-After</c> as a delay from now, when present and positive.</summary>
    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        RetryConditionHeaderValue? header = response.Headers.RetryAfter;
        TimeSpan? delay = header?.Delta ?? (header?.Date is DateTimeOffset date ? date - _options.TimeProvider.GetUtcNow() : null);
        return delay > TimeSpan.Zero ? delay : null;
    }

    public SyncError Error(Uri url, int? statusCode, string message, string? reason = null)
        => new(url, statusCode, message, reason, _options.TimeProvider.GetUtcNow());

    public void Dispose()
    {
        _ownedTransport?.Dispose();
    }

    private async Task<HttpResponseMessage> SendAsync(Uri url, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url)
        {
            Version = _transport.RequestVersion,
            VersionPolicy = _transport.RequestVersionPolicy,
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (_transport.HostHeader is string host)
        {
            request.Headers.Host = host;
        }

        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("LockFree.Balancing.Kubernetes", "1.0"));
        string? token;
        try
        {
            token = await _token.GetAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (KubernetesApiException ex) when (ex.Error is null)
        {
            throw new KubernetesApiException(Error(url, null, ex.Message), ex);
        }

        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        try
        {
            return await _transport.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException ex)
        {
            // The transport swapped its handler (a rotated client certificate) while this request started on the old
            // one: a transport failure, retried on the new handler.
            throw new KubernetesApiException(Error(url, null, "the connection was closed to use a renewed client certificate"), ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Nobody cancelled: the handler gave up (SocketsHttpHandler.ConnectTimeout surfaces as a TaskCanceledException).
            // That is a transport failure to retry, not a shutdown to obey.
            throw new KubernetesApiException(Error(url, null, $"the connection failed: {ex.InnerException?.Message ?? ex.Message}"), ex);
        }
    }

    private async Task EnsureSuccessAsync(Uri url, HttpResponseMessage response, string verb, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        int code = (int)response.StatusCode;
        if (code == 401)
        {
            _token.Invalidate(); // a rotated token file is read again before the next attempt
            Log.CredentialsRejected(_logger);
        }
        ApiStatus? status = null;
        try
        {
            Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                using PooledBody bytes = await BodyReader.ReadAsync(body, MaxErrorBodyBytes, "error body", cancellationToken).ConfigureAwait(false);
                status = KubernetesJson.TryParseStatus(bytes.Span);
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            // The status code alone still tells the story.
        }

        string serverSays = status?.Message is { Length: > 0 } message ? $" The server said: {message}" : string.Empty;
        string text = code switch
        {
            401 => $"unauthorized: the API server rejected the credentials (a missing, wrong or expired bearer token{(_token.LastReadError is string readError ? "; " + readError : string.Empty)}).{serverSays}",
            403 when _options.UseLegacyEndpoints => $"forbidden: the caller may not '{verb}' {LegacyResource} in namespace '{_service.Namespace}'; grant get, list and watch on endpoints (API group \"\") in that namespace with a Role and RoleBinding.{serverSays}",
            403 => $"forbidden: the caller may not '{verb}' {SliceResource} in namespace '{_service.Namespace}'; grant get, list and watch on endpointslices (API group discovery.k8s.io) in that namespace with a Role and RoleBinding.{serverSays}",
            404 when _options.UseLegacyEndpoints => $"not found: namespace '{_service.Namespace}' or the core v1 API is missing at this URL; check the API server address (and any path prefix) and the namespace.{serverSays}",
            404 => await DescribeNotFoundAsync(cancellationToken).ConfigureAwait(false) + serverSays,
            410 => $"gone: resourceVersion too old; the state is rebuilt from a fresh LIST.{serverSays}",
            429 => $"too many requests: the API server is throttling this client.{serverSays}",
            _ => $"the API server answered {code} ({response.ReasonPhrase}) to the {verb}.{serverSays}",
        };
        throw new KubernetesApiException(Error(url, code, text, status?.Reason)) { RetryAfter = RetryAfter(response) };
    }
}
