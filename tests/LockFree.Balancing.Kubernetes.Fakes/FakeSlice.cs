namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>One EndpointSlice as <see cref="FakeCluster"/> stores it: a name, one port and its endpoints.</summary>
/// <param name="Name">The slice name (unique in the namespace).</param>
/// <param name="Port">The port every endpoint of the slice serves on.</param>
/// <param name="Endpoints">The endpoints, in order.</param>
/// <param name="PortName">The port's name; the watcher resolves a named Service port against it.</param>
public sealed record FakeSlice(string Name, int Port, IReadOnlyList<FakeSliceEndpoint> Endpoints, string PortName = "http");
