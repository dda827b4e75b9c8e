using System.Diagnostics;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// Closed-loop clients: each sends one request, waits for the answer, and sends the next, with a user id drawn
/// from the Zipf keys. Every request is counted in the phase that was current when it started.
/// </summary>
internal sealed class TrafficDriver
{
    private readonly ITrafficClient _client;
    private readonly ZipfKeys _keys;
    private readonly bool _sendKey;
    private readonly Func<string, string?> _homePodOf;
    private readonly Func<string, long, long, bool> _mustNotReach;
    private PhaseStats _phase;
    private bool _checkAffinity;

    /// <param name="client">How requests reach pods.</param>
    /// <param name="keys">The user ids.</param>
    /// <param name="sendKey">Whether the picker places by key (the others get no key).</param>
    /// <param name="homePodOf">The pod a key's home endpoint runs in, for the affinity figure.</param>
    /// <param name="mustNotReach">Whether a request started and completed at the given timestamps must not have reached the pod.</param>
    /// <param name="first">The first phase.</param>
    public TrafficDriver(ITrafficClient client, ZipfKeys keys, bool sendKey, Func<string, string?> homePodOf, Func<string, long, long, bool> mustNotReach, PhaseStats first)
    {
        _client = client;
        _keys = keys;
        _sendKey = sendKey;
        _homePodOf = homePodOf;
        _mustNotReach = mustNotReach;
        _phase = first;
    }

    /// <summary>Switches the phase new requests are counted in; affinity is checked only where membership is stable.</summary>
    public void SetPhase(PhaseStats phase, bool checkAffinity)
    {
        Volatile.Write(ref _checkAffinity, checkAffinity);
        Volatile.Write(ref _phase, phase);
    }

    public PhaseStats Phase => Volatile.Read(ref _phase);

    /// <summary>
    /// When set, judges affinity instead of the home pod: given a key and the pod that served it, whether that is
    /// the key's home (<see langword="null"/>: not judged). The gRPC phase's <c>ring_hash</c> uses it: a key's home
    /// is the pod its first steady-phase call reached.
    /// </summary>
    public Func<string, string, bool?>? AtHome { get; init; }

    /// <summary>Runs <paramref name="clients"/> loops until <paramref name="stopping"/> is cancelled.</summary>
    public Task RunAsync(int clients, int seed, CancellationToken stopping)
        => Task.WhenAll(Enumerable.Range(0, clients).Select(i => Task.Run(() => ClientLoopAsync(new Random(seed + i), stopping), CancellationToken.None)));

    private async Task ClientLoopAsync(Random random, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            PhaseStats phase = Volatile.Read(ref _phase);
            bool checkAffinity = Volatile.Read(ref _checkAffinity);
            string key = _keys.Next(random);
            long started = Stopwatch.GetTimestamp();
            try
            {
                string pod = await _client.SendAsync(_sendKey ? key : null, stopping).ConfigureAwait(false);
                phase.LatencyMicroseconds.Add((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                bool? atHome = !checkAffinity ? null
                    : AtHome is { } judge ? judge(key, pod)
                    : _homePodOf(key) is string home ? string.Equals(home, pod, StringComparison.Ordinal) : null;
                phase.Served(pod, atHome);
                if (_mustNotReach(pod, started, Stopwatch.GetTimestamp()))
                {
                    phase.Violation($"a request started after the picker saw {pod} removed was served by {pod}");
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Every failure of a request is a result to count, never a reason to stop a client.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                phase.Failed($"{ex.GetType().Name}: {ex.Message}");
            }
        }
    }
}
