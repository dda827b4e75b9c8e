namespace LockFree.Balancing.Http.Tests;

/// <summary>The attempts the balancing handler made, and where each went (the pod's authority).</summary>
public sealed class AttemptCounter
{
    private int _attempts;

    public int Attempts => Volatile.Read(ref _attempts);

    public System.Collections.Concurrent.ConcurrentQueue<string> Targets { get; } = new();

    public void Record(string target)
    {
        Interlocked.Increment(ref _attempts);
        Targets.Enqueue(target);
    }
}

/// <summary>
/// Counts each request it passes on: under the balancing handler with <see cref="BalancingTransport.InnerHandler"/>
/// (the target is the rewritten URI's authority), or in front of one pod's handler with
/// <see cref="BalancingTransport.PodConnections"/> (the target is that pod).
/// </summary>
public sealed class CountingHandler(AttemptCounter counter, HttpMessageHandler inner, string? pod = null) : DelegatingHandler(inner)
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        counter.Record(pod ?? request.RequestUri!.Authority);
        return base.SendAsync(request, cancellationToken);
    }
}
