namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// Calls from the watch loop around each delivery of a new set: <see cref="Before"/> just before the balancer
/// takes it, <see cref="After"/> once the balancer has published it. One call at a time, in order.
/// </summary>
internal sealed record WatchHooks(Action Before, Action<IReadOnlyList<Endpoint>> After);
