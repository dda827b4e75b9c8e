namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>One <c>spec.ports</c> entry of the Service <see cref="FakeCluster"/> serves.</summary>
/// <param name="Name">The port name ("" for the unnamed port of a single-port Service).</param>
/// <param name="Port">The Service port.</param>
/// <param name="TargetPort">The target port: a number or a container port name, written as the API does (a JSON number or string).</param>
public sealed record FakeServicePort(string Name, int Port, string TargetPort);
