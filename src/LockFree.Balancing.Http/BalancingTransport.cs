namespace LockFree.Balancing.Http;

/// <summary>How <see cref="KubernetesBalancingHandler"/> sends a request to the pod it picked.</summary>
public enum BalancingTransport
{
    /// <summary>
    /// One <see cref="SocketsHttpHandler"/> per pod, whose connections go to the pod's address. The request keeps the
    /// Service URL, so the <c>Host</c> header and the TLS server name are the Service's and nothing is rewritten or
    /// added per request. The handler's inner handler (<c>IHttpClientFactory</c>'s primary handler) is not used:
    /// configure the pods' handlers with <see cref="KubernetesBalancingOptions.ConfigurePodHandler"/>. Pod
    /// connections never go through a proxy. Only connections to the Service's own host dial the pod: a redirect
    /// followed to another host connects to that host. HTTP/1.1 and HTTP/2 only (QUIC does not go through the
    /// connect callback): an HTTP/3 request is refused.
    /// </summary>
    PodConnections = 0,

    /// <summary>
    /// The request URI is rewritten to the pod's address, the Service authority is kept in a <c>Host</c> header, and
    /// the request goes through the inner handler (the primary handler <c>IHttpClientFactory</c> configures, or the
    /// one given to <see cref="KubernetesBalancing.CreateHandler"/>). For a primary handler of your own making (a
    /// test double, a custom transport); the added header costs about 300 B per request.
    /// </summary>
    InnerHandler = 1,
}
