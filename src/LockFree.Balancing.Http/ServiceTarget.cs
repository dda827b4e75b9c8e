namespace LockFree.Balancing.Http;

/// <summary>What a request URI's host and port resolve to: the balanced Service and the authority kept as the Host header.</summary>
internal sealed class ServiceTarget(string host, int port, BalancedService service, string authority)
{
    public string Host { get; } = host;

    public int Port { get; } = port;

    public BalancedService Service { get; } = service;

    /// <summary>The request's original authority (<c>orders.shop</c>, <c>orders.shop:8080</c>): the Host header and the TLS server name.</summary>
    public string Authority { get; } = authority;

    /// <summary>The port, boxed once for the <c>server.port</c> attribute.</summary>
    public object PortTag { get; } = port;
}
