namespace LockFree.Balancing.Http.Tests;

/// <summary>Sits under the balancing handler and counts the attempts it makes, by target authority.</summary>
public sealed class CountingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private int _attempts;

    public int Attempts => Volatile.Read(ref _attempts);

    public System.Collections.Concurrent.ConcurrentQueue<string> Targets { get; } = new();

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _attempts);
        Targets.Enqueue(request.RequestUri!.Authority);
        return base.SendAsync(request, cancellationToken);
    }
}
