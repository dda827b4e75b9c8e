namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// The seam between the traffic driver and how a request reaches a pod: a lease from the balancer and a plain
/// <see cref="HttpClient"/> (<see cref="LeaseTrafficClient"/>), or the library's HTTP handler once it exists.
/// </summary>
internal interface ITrafficClient : IDisposable
{
    /// <summary>How requests are sent, for the report.</summary>
    string Description { get; }

    /// <summary>Sends one idempotent GET for <paramref name="key"/> (or without a key) and returns who served it.</summary>
    /// <param name="key">The affinity key (the user id), or <see langword="null"/> for a picker without affinity.</param>
    /// <param name="cancellationToken">Stops the request.</param>
    /// <returns>The name in the response's <c>x-served-by</c> header, or the endpoint key when the server sends none.</returns>
    /// <exception cref="HttpRequestException">The request failed or the status was not a success.</exception>
    /// <exception cref="NoEndpointsException">The balancer had no endpoint.</exception>
    Task<string> SendAsync(string? key, CancellationToken cancellationToken);
}
