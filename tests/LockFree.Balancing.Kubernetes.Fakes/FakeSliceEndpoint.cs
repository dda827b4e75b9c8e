namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>One endpoint of a <see cref="FakeSlice"/>, with the three conditions of <c>discovery.k8s.io/v1</c>.</summary>
/// <param name="Address">The IP address.</param>
/// <param name="PodName">The pod behind it (the <c>targetRef</c>).</param>
/// <param name="Ready">Passes readiness and is not terminating.</param>
/// <param name="Serving">Passes readiness, terminating or not.</param>
/// <param name="Terminating">The pod is being deleted.</param>
public sealed record FakeSliceEndpoint(string Address, string PodName, bool Ready = true, bool Serving = true, bool Terminating = false);
