using System.Collections.Concurrent;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>What the traffic saw during one phase of one picker's run. Written by every client concurrently.</summary>
internal sealed class PhaseStats(string name)
{
    private const int MaxErrorSamples = 5;

    private long _requests;
    private long _errors;
    private long _violations;
    private long _affinityHits;
    private long _affinityChecked;

    public string Name { get; } = name;

    public TimeSpan Duration { get; set; }

    public long Requests => Interlocked.Read(ref _requests);

    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Requests that started after the picker saw their pod removed and still reached it.</summary>
    public long Violations => Interlocked.Read(ref _violations);

    public long AffinityHits => Interlocked.Read(ref _affinityHits);

    public long AffinityChecked => Interlocked.Read(ref _affinityChecked);

    /// <summary>Requests served, by pod name.</summary>
    public ConcurrentDictionary<string, long> ServedBy { get; } = new(StringComparer.Ordinal);

    /// <summary>End-to-end request latency through HttpClient, in microseconds.</summary>
    public Samples LatencyMicroseconds { get; } = new(400_000);

    /// <summary>The first few errors and violations, verbatim.</summary>
    public ConcurrentQueue<string> Problems { get; } = new();

    public void Served(string pod, bool? atHome)
    {
        Interlocked.Increment(ref _requests);
        ServedBy.AddOrUpdate(pod, 1, static (_, n) => n + 1);
        if (atHome is bool home)
        {
            Interlocked.Increment(ref _affinityChecked);
            if (home)
            {
                Interlocked.Increment(ref _affinityHits);
            }
        }
    }

    public void Failed(string message)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Increment(ref _errors);
        Note(message);
    }

    public void Violation(string message)
    {
        Interlocked.Increment(ref _violations);
        Note(message);
    }

    private void Note(string message)
    {
        if (Problems.Count < MaxErrorSamples)
        {
            Problems.Enqueue(message);
        }
    }
}
