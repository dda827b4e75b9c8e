namespace LockFree.Balancing.Http.DependencyInjection;

/// <summary>Marks a named client that has its own <c>AddKubernetesBalancing</c>, so the every-client registration does not add a second balancing handler to it.</summary>
internal sealed record ExplicitlyBalancedClient(string Name);
