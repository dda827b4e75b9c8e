namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>One EndpointSlice as <see cref="FakeCluster"/> stores it: a name, one port and its endpoints.</summary>
/// <param name="Name">The slice name (unique in the namespace).</param>
/// <param name="Port">The port every endpoint of the slice serves on.</param>
/// <param name="Endpoints">The endpoints, in order.</param>
/// <param name="PortName">The port's name; the watcher resolves a named Service port against it.</param>
public sealed record FakeSlice(string Name, int Port, IReadOnlyList<FakeSliceEndpoint> Endpoints, string PortName = "http")
{
    /// <summary>
    /// More named ports every endpoint of the slice also serves (a pod with an HTTP and a gRPC port), written after
    /// <see cref="PortName"/> in the slice's <c>ports</c>. Empty by default.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, int>> MorePorts { get; init; } = [];

    /// <summary>
    /// The slice of a Service that defines no ports (a headless Service without ports): the EndpointSlice controller
    /// writes <c>"ports": []</c>, and <see cref="Port"/> is ignored. Default: false.
    /// </summary>
    public bool Portless { get; init; }
}
