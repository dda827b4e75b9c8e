using System.Net;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// Sends each request to the endpoint of a lease: acquire (by key or not), send with a shared
/// <see cref="HttpClient"/>, dispose the lease when the response is in, or <see cref="EndpointLease.Fail"/> it
/// when the request failed. No retry: an error here is an error in the report.
/// </summary>
internal sealed class LeaseTrafficClient : ITrafficClient
{
    private readonly LoadBalancer _balancer;
    private readonly HttpClient _client;
    private readonly string _path;
    private readonly bool _byEndpoint;

    public LeaseTrafficClient(LoadBalancer balancer, string path = "/work", bool byEndpoint = false)
    {
        _balancer = balancer;
        _path = path;
        _byEndpoint = byEndpoint;
        _client = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(2),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    public string Description => "a lease from the balancer (acquire, send with HttpClient, release or fail)";

    public async Task<string> SendAsync(string? key, CancellationToken cancellationToken)
    {
        bool acquired = key is null ? _balancer.TryAcquire(out EndpointLease lease) : _balancer.TryAcquire(key, out lease);
        if (!acquired)
        {
            throw new NoEndpointsException();
        }

        try
        {
            string query = key is null ? "" : "?user=" + Uri.EscapeDataString(key);
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://{lease.Endpoint.Key}{_path}{query}"));
            using HttpResponseMessage response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            string servedBy = !_byEndpoint && response.Headers.TryGetValues(BackendPod.ServedByHeader, out IEnumerable<string>? values)
                ? values.First()
                : lease.Endpoint.Key;
            lease.Dispose();
            return servedBy;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            lease.Dispose(); // the run is stopping: not the endpoint's fault
            throw;
        }
        finally
        {
            // Reached with the lease still held only when the request failed.
            lease.Fail();
        }
    }

    public void Dispose() => _client.Dispose();
}
