using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Http;

/// <summary>
/// Sends each request to one pod of the Kubernetes Service its URI names: resolves the Service, acquires a lease
/// from the balancer and sends the request to the picked endpoint, with the Service's authority as the <c>Host</c>
/// header and, for https, as the TLS server name (SNI and certificate check).
/// </summary>
/// <remarks>
/// <para>
/// Transport: see <see cref="BalancingTransport"/>. With <see cref="BalancingTransport.PodConnections"/> (the
/// default) the request goes unchanged through the picked pod's own connection pool and the inner handler is not
/// used; with <see cref="BalancingTransport.InnerHandler"/> the URI is rewritten to the pod (scheme, path and query
/// kept), a <c>Host</c> header keeps the original authority, and the inner handler sends it.
/// </para>
/// <para>
/// Release: see <see cref="LeaseRelease"/>. With <see cref="LeaseRelease.ResponseEnd"/> (the default) a body that
/// declares a Content-Length up to <see cref="KubernetesBalancingOptions.MaxBufferedBodyBytes"/> is read here and the lease ends with it; any
/// other response content is wrapped, and the lease ends when the body has been read to its end, when the content
/// or response is disposed, or when buffering it fails, whichever happens first. A response that is never read nor
/// disposed keeps its lease, as it keeps its connection.
/// </para>
/// <para>
/// Failures: a connection that could not be made (<see cref="HttpRequestError.ConnectionError"/>,
/// <see cref="HttpRequestError.SecureConnectionError"/>, <see cref="HttpRequestError.NameResolutionError"/>) is reported
/// with <see cref="EndpointLease.Fail"/> and, for idempotent methods, retried once on another endpoint picked without
/// the affinity key. Other transport errors are reported and not retried (bytes may have reached the pod). A 5xx
/// is reported as a failure (unless <see cref="KubernetesBalancingOptions.ServerErrorsAreFailures"/> is off) and
/// retried only with <see cref="KubernetesBalancingOptions.RetryServerErrors"/>. Cancellation by the caller is
/// never the pod's failure.
/// </para>
/// <para>
/// The request object is restored after the call (its <see cref="HttpRequestMessage.RequestUri"/>, and a
/// <c>Host</c> header the handler added), so an outer retry policy can send it again. Only the asynchronous send is
/// supported; <see cref="HttpClient.Send(HttpRequestMessage)"/> throws <see cref="NotSupportedException"/>.
/// </para>
/// </remarks>
public sealed class KubernetesBalancingHandler : DelegatingHandler
{
    private readonly KubernetesBalancing _balancing;
    private readonly BalancingSettings _settings;
    private volatile bool _innerWarm; // a send through the inner handler has completed (see PickTagging)

    /// <summary>Creates a handler without an inner handler, for <c>IHttpClientFactory</c>, which sets <see cref="DelegatingHandler.InnerHandler"/>.</summary>
    /// <param name="balancing">The balancing set whose balancers and options the handler uses.</param>
    /// <exception cref="ArgumentNullException"><paramref name="balancing"/> is <see langword="null"/>.</exception>
    public KubernetesBalancingHandler(KubernetesBalancing balancing)
    {
        ArgumentNullException.ThrowIfNull(balancing);
        _balancing = balancing;
        _settings = balancing.Settings;
    }

    /// <summary>Creates a handler that sends through <paramref name="innerHandler"/>.</summary>
    /// <param name="balancing">The balancing set whose balancers and options the handler uses.</param>
    /// <param name="innerHandler">The handler that sends to the picked pod; this handler owns it.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public KubernetesBalancingHandler(KubernetesBalancing balancing, HttpMessageHandler innerHandler)
        : base(innerHandler)
    {
        ArgumentNullException.ThrowIfNull(balancing);
        _balancing = balancing;
        _settings = balancing.Settings;
    }

    /// <summary>Not supported: balancing needs the asynchronous path.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Unused.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="NotSupportedException">Always.</exception>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        => throw new NotSupportedException("KubernetesBalancingHandler supports asynchronous sends only: use HttpClient.SendAsync/GetAsync.");

    /// <inheritdoc/>
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        => SendPooledAsync(request, cancellationToken).AsTask();

    // PERF: the state machine of a request is pooled (its box is about as large as everything else the handler
    // allocates); the Task the caller gets is a small wrapper around the pooled one.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<HttpResponseMessage> SendPooledAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Uri original = request.RequestUri ?? throw new InvalidOperationException("The request has no RequestUri: set it, or the HttpClient's BaseAddress, to a URL of the Service such as http://orders.shop/.");
        if (!original.IsAbsoluteUri)
        {
            throw new InvalidOperationException($"The request URI '{original}' is relative: set the HttpClient's BaseAddress to a URL of the Service such as http://orders.shop/.");
        }

        if (!_balancing.TryResolve(original, out ServiceTarget? target, out string? whyNot))
        {
            if (_balancing.Settings.PassThroughNonServiceHosts)
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }

            throw new HttpRequestException(HttpRequestError.NameResolutionError, whyNot);
        }

        BalancedService service = target.Service;
        PodHandlers? pods = service.Pods;
        if (pods is not null && request.Version.Major >= 3)
        {
            // HTTP/3 runs over QUIC, which SocketsHttpHandler dials itself: a pod connection cannot carry it.
            throw new NotSupportedException($"HTTP/{request.Version} is not supported with Transport {BalancingTransport.PodConnections}: pod connections carry HTTP/1.1 and HTTP/2. Use Transport {BalancingTransport.InnerHandler} with an HTTP/3-capable inner handler, or request HTTP/2 or lower.");
        }

        BalancingMetrics metrics = _balancing.Metrics;
        string method = BalancingMetrics.MethodTagValue(request.Method);
        EndpointLease lease = AcquireFirst(request, target, out string outcome);
        RequestMeasure measure = metrics.Start(target, method);
        bool idempotent = IsIdempotent(request.Method);
        bool hostAdded = false;
        bool retried = false;
        try
        {
            if (pods is null && request.Headers.Host is null)
            {
                request.Headers.Host = target.Authority;
                hostAdded = true;
            }

            while (true)
            {
                HttpResponseMessage response;
                PodHandler? pod = null;
                if (pods is not null)
                {
                    try
                    {
                        pod = pods.Enter(lease.Endpoint);
                    }
                    catch (Exception ex)
                    {
                        // Not the pod's doing (the balancing set was disposed, or ConfigurePodHandler threw).
                        service.Release(ref lease, failed: false, ref measure, 0, BalancingMetrics.ErrorType(ex));
                        throw;
                    }
                }

                try
                {
                    bool cold = !(pod?.IsWarm ?? _innerWarm);
                    PickTagging.Enter(request, lease.Endpoint, outcome, onRequest: cold); // for the client span the send starts
                    try
                    {
                        Task<HttpResponseMessage> sending;
                        try
                        {
                            if (pod is not null)
                            {
                                sending = pod.SendAsync(request, cancellationToken);
                            }
                            else
                            {
                                request.RequestUri = service.PodUris!.For(original, lease.Endpoint); // set whenever Pods is not
                                sending = base.SendAsync(request, cancellationToken);
                            }
                        }
                        finally
                        {
                            PickTagging.Exit(); // the runtime has started (and tagged) the span, if any, by now
                        }

                        response = await sending.ConfigureAwait(false);
                    }
                    finally
                    {
                        if (cold)
                        {
                            PickTagging.Ended(request);
                            if (pod is not null)
                            {
                                pod.Warmed();
                            }
                            else
                            {
                                _innerWarm = true;
                            }
                        }
                    }
                }
                catch (Exception ex) when (IsConnectionFailure(ex) && !cancellationToken.IsCancellationRequested)
                {
                    Endpoint failed = lease.Endpoint;
                    service.Release(ref lease, failed: true, ref measure, 0, BalancingMetrics.ErrorType(ex));
                    string reason = FailureReason(ex);
                    if (!_settings.RetryConnectionFailures || !idempotent || retried)
                    {
                        Log.ConnectionFailedNotRetried(_balancing.Logger, request.Method.Method, service.ServiceText, failed.Key, reason,
                            retried ? "it was already retried once" : !idempotent ? $"{request.Method.Method} is not idempotent" : "retries are off");
                        if (ex is HttpRequestException)
                        {
                            throw;
                        }

                        throw AsHttpRequestException(ex, failed);
                    }

                    if (!TryAcquireOther(target, failed, out lease, out outcome))
                    {
                        Log.ConnectionFailedNotRetried(_balancing.Logger, request.Method.Method, service.ServiceText, failed.Key, reason, "no other endpoint is available");
                        if (ex is HttpRequestException)
                        {
                            throw;
                        }

                        throw AsHttpRequestException(ex, failed);
                    }

                    Log.RetryingOnAnotherEndpoint(_balancing.Logger, request.Method.Method, service.ServiceText, failed.Key, reason, lease.Endpoint.Key);
                    measure = metrics.Start(target, method);
                    retried = true;
                    continue;
                }
                catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
                {
                    service.Release(ref lease, failed: false, ref measure, 0, BalancingMetrics.ErrorType(ex)); // the caller gave up; not the pod's fault
                    throw;
                }
                catch (Exception ex)
                {
                    service.Release(ref lease, failed: true, ref measure, 0, BalancingMetrics.ErrorType(ex));
                    throw;
                }
                finally
                {
                    pod?.Exit(); // the response headers are in (or the send failed): a retired pod's handler may go
                }

                bool serverError = (int)response.StatusCode >= 500;
                if (serverError && _settings.RetryServerErrors && idempotent && !retried)
                {
                    Endpoint failed = lease.Endpoint;
                    if (TryAcquireOther(target, failed, out EndpointLease other, out string otherOutcome))
                    {
                        Log.RetryingOnAnotherEndpoint(_balancing.Logger, request.Method.Method, service.ServiceText, failed.Key, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), other.Endpoint.Key);
                        response.Dispose();
                        service.Release(ref lease, failed: _settings.ServerErrorsAreFailures, ref measure, (int)response.StatusCode, null);
                        lease = other;
                        outcome = otherOutcome;
                        measure = metrics.Start(target, method);
                        retried = true;
                        continue;
                    }
                }

                if (_settings.LoadReportHeader is { } loadHeader)
                {
                    RecordReportedLoad(response, loadHeader, service, lease.Endpoint);
                }

                bool responseFailed = serverError && _settings.ServerErrorsAreFailures;
                if (IsSmallKnownBody(response, _settings.MaxBufferedBodyBytes))
                {
                    // The body ends the lease: read it here, at most MaxBufferedBodyBytes, and no wrapper is needed.
                    // Outside the retry above: a body cut off after the headers may have been processed by the pod.
                    try
                    {
                        await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        service.Release(ref lease, failed: !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested), ref measure, (int)response.StatusCode, BalancingMetrics.ErrorType(ex));
                        response.Dispose();
                        throw;
                    }

                    service.Release(ref lease, responseFailed, ref measure, (int)response.StatusCode, null);
                    return response;
                }

                return Complete(response, service, ref lease, ref measure, responseFailed);
            }
        }
        finally
        {
            // Leave the request as the caller built it, for logging above this handler and for outer retries.
            request.RequestUri = original; // unchanged with pod connections; cheaper to write than to test
            if (hostAdded)
            {
                request.Headers.Host = null;
            }
        }
    }

    // No response came back because the pod could not be reached or its connection died first: refused, name or TLS
    // failure, or reset/aborted while the request was written or before the response began (which of those a dying
    // pod produces is a race between its RST and our write). Only idempotent requests are retried on it, so a request
    // the pod may have started processing is never sent twice unless sending it twice is harmless. SocketsHttpHandler
    // usually wraps these in an HttpRequestException, but not always: when the reset lands while it reads the new
    // socket's remote address, the SocketException (NotConnected) escapes as is.
    private static bool IsConnectionFailure(Exception exception)
    {
        if (exception is HttpRequestException
            {
                HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError
                    or HttpRequestError.NameResolutionError or HttpRequestError.ResponseEnded,
            })
        {
            return true;
        }

        if (exception is not (HttpRequestException or SocketException or IOException))
        {
            return false;
        }

        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown or SocketError.NotConnected })
            {
                return true;
            }
        }

        return false;
    }

    // Callers (and their retry policies) expect an HttpRequestException for a connection that failed.
    private static HttpRequestException AsHttpRequestException(Exception exception, Endpoint pod)
        => new(HttpRequestError.ConnectionError, $"The connection to {pod.Key} failed ({FailureReason(exception)}): {exception.Message}", exception);

    private static string FailureReason(Exception exception)
    {
        if (exception is HttpRequestException { HttpRequestError: not HttpRequestError.Unknown } request)
        {
            return request.HttpRequestError.ToString();
        }

        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is SocketException socket)
            {
                return socket.SocketErrorCode.ToString();
            }
        }

        return exception.GetType().Name;
    }

    // RFC 9110 section 9.2.2.
    private static bool IsIdempotent(HttpMethod method)
        => method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Options
           || method == HttpMethod.Trace || method == HttpMethod.Put || method == HttpMethod.Delete;

    // The pod's own figure, for power of two choices; a keyed request's response reports it as well as any other.
    private void RecordReportedLoad(HttpResponseMessage response, string header, BalancedService service, Endpoint pod)
    {
        // PERF: the non-validated view reads the raw value without parsing or allocating a header collection.
        if (!response.Headers.NonValidated.TryGetValues(header, out HeaderStringValues values))
        {
            return;
        }

        foreach (string value in values)
        {
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double load) && double.IsFinite(load) && load >= 0)
            {
                service.Balancer.ReportLoad(pod, load); // false when the pod left the set meanwhile: nothing to record
            }
            else
            {
                Log.LoadReportIgnored(_balancing.Logger, value, pod.Key, service.ServiceText, header);
            }

            return; // the first value counts
        }
    }

    // A response whose declared length is small (HEAD, 204 and 304 included: they carry no body whatever they declare).
    private static bool IsSmallKnownBody(HttpResponseMessage response, int limit)
        => limit > 0 && response.Content.Headers.ContentLength is long length && length <= limit;

    private HttpResponseMessage Complete(HttpResponseMessage response, BalancedService service, ref EndpointLease lease, ref RequestMeasure measure, bool failed)
    {
        if (_settings.LeaseRelease == LeaseRelease.ResponseHeaders || response.Content is null)
        {
            service.Release(ref lease, failed, ref measure, (int)response.StatusCode, null);
            return response;
        }

        response.Content = new LeaseContent(response.Content, service, lease, measure, (int)response.StatusCode, failed);
        lease = default; // the content owns it now
        measure = default;
        return response;
    }

    private EndpointLease AcquireFirst(HttpRequestMessage request, ServiceTarget target, out string outcome)
    {
        BalancedService service = target.Service;
        Activity? span = PickSpan.Start(PickTracing.Source); // PERF: one HasListeners read when nobody traces
        bool acquired;
        EndpointLease lease;
        string picker;
        LoadBalancer balancer;
        try
        {
            if (service.AffinityBalancer is LoadBalancer affinity && TryGetAffinityKey(request, out ReadOnlySpan<char> key))
            {
                balancer = affinity;
                acquired = affinity.TryAcquire(key, out lease);
                picker = service.AffinityPickerName!;
            }
            else
            {
                balancer = service.Balancer;
                acquired = balancer.TryAcquire(out lease);
                picker = service.PickerName;
            }
        }
        catch (Exception ex) when (span is not null)
        {
            // The application's AffinityKey function threw: the span ends with it, and the exception goes on.
            PickSpan.Failed(span, target.Host, service.AffinityPickerName ?? service.PickerName, ex.GetType().FullName ?? "_OTHER", ex.Message);
            throw;
        }

        if (!acquired)
        {
            _balancing.Metrics.RecordPick(target, picker, PickOutcomeTag.None);
            throw NoEndpoints(target, balancer, picker, span);
        }

        service.OnAcquired();
        outcome = Outcome(lease);
        _balancing.Metrics.RecordPick(target, picker, outcome);
        if (span is not null)
        {
            PickSpan.Picked(span, target.Host, picker, lease.Endpoint, outcome);
        }

        return lease;
    }

    /// <summary>Another endpoint than <paramref name="failed"/>, from the keyless picker: a key would map to the same pod.</summary>
    private bool TryAcquireOther(ServiceTarget target, Endpoint failed, out EndpointLease lease, out string outcome)
    {
        BalancedService service = target.Service;
        LoadBalancer balancer = service.Balancer;
        Activity? span = PickSpan.Start(PickTracing.Source); // each try's pick is its own span
        // A random picker can draw the failed endpoint again; a few draws make that unlikely without a loop that
        // could spin. Round robin moves on by itself.
        int attempts = Math.Min(balancer.Endpoints.Count, 8);
        bool unavailable = attempts == 0; // false when every draw was the failed endpoint
        for (int i = 0; i < attempts; i++)
        {
            if (!balancer.TryAcquire(out lease))
            {
                unavailable = true;
                break;
            }

            if (!string.Equals(lease.Endpoint.Key, failed.Key, StringComparison.Ordinal))
            {
                service.OnAcquired();
                outcome = Outcome(lease);
                _balancing.Metrics.RecordPick(target, service.PickerName, outcome);
                if (span is not null)
                {
                    PickSpan.Picked(span, target.Host, service.PickerName, lease.Endpoint, outcome, retry: true);
                }

                return true;
            }

            lease.Dispose();
        }

        if (span is not null)
        {
            if (unavailable)
            {
                NoEndpointsReason reason = balancer.GetUnavailableReason() ?? NoEndpointsReason.NoEndpoints;
                PickSpan.Failed(span, target.Host, service.PickerName, PickSpan.ErrorTypeOf(reason), PickSpan.DescriptionOf(reason), retry: true);
            }
            else
            {
                PickSpan.Failed(span, target.Host, service.PickerName, PickSpan.NoOtherEndpoint, $"no endpoint other than {failed.Key} could be picked", retry: true);
            }
        }

        lease = default;
        outcome = PickOutcomeTag.None;
        return false;
    }

    private static string Outcome(in EndpointLease lease) => PickOutcomeTag.Of(lease.Outcome);

    // The core's reason travels as the inner NoEndpointsException (callers switch on its Reason) and is named in the
    // message. The reason is read now, after the failed acquire: if the set changed in between (a rare race) and an
    // endpoint is available again, the failure is reported as NoEndpoints, what the acquire most likely saw.
    private HttpRequestException NoEndpoints(ServiceTarget target, LoadBalancer balancer, string picker, Activity? span)
    {
        BalancedService service = target.Service;
        Kubernetes.KubernetesWatchStatus status = service.Watcher.Status;
        NoEndpointsReason reason = balancer.GetUnavailableReason() ?? NoEndpointsReason.NoEndpoints;
        string detail = status.Version == 0
            ? status.LastError is { } error ? $"the watch has not synced: {error.Message}" : "the watch has not synced yet"
            : reason == NoEndpointsReason.AllEjected ? "every endpoint is ejected by outlier detection (consecutive failures); ejections end by themselves"
            : balancer.Endpoints.Count == 0 ? "the Service has no ready endpoint" : "every endpoint of the Service has weight 0";
        Log.NoEndpoints(_balancing.Logger, service.ServiceText, detail);
        string message = $"No endpoint available for Kubernetes Service {service.ServiceText} (reason {reason}): {detail}.";
        if (span is not null)
        {
            PickSpan.Failed(span, target.Host, picker, PickSpan.ErrorTypeOf(reason), message);
        }

        return new HttpRequestException(
            HttpRequestError.ConnectionError,
            message,
            new NoEndpointsException(reason),
            HttpStatusCode.ServiceUnavailable);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryGetAffinityKey(HttpRequestMessage request, out ReadOnlySpan<char> key)
    {
        key = default;
        if (_settings.AffinityKey is { } function)
        {
            key = function(request);
        }
        else if (_settings.AffinityHeader is string header)
        {
            if (request.Headers.NonValidated.TryGetValues(header, out HeaderStringValues values))
            {
                foreach (string value in values)
                {
                    key = value;
                    break;
                }
            }
        }
        else if (_settings.AffinityQueryParameter is string parameter)
        {
            key = AffinityKeys.FromQuery(request.RequestUri!, parameter);
        }
        else if (_settings.AffinityCookie is string cookie)
        {
            key = AffinityKeys.FromCookie(request, cookie);
        }

        return !key.IsEmpty;
    }
}
