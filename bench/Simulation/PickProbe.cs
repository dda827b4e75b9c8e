using System.Diagnostics;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// Times single picks (acquire + release, by key for keyed pickers) on a dedicated thread while the traffic
/// and the watcher's updates run, in short bursts so it does not take a core from the traffic. The times include
/// one <see cref="Stopwatch.GetTimestamp"/> pair, whose own cost <see cref="TimerFloorNanoseconds"/> reports.
/// </summary>
internal sealed class PickProbe
{
    private const int Burst = 256;
    private readonly LoadBalancer _balancer;
    private readonly ZipfKeys _keys;
    private readonly bool _keyed;
    private Samples _target;

    public PickProbe(LoadBalancer balancer, ZipfKeys keys, bool keyed, Samples first)
    {
        _balancer = balancer;
        _keys = keys;
        _keyed = keyed;
        _target = first;
    }

    /// <summary>Where the next picks are recorded (steady or churn), in nanoseconds.</summary>
    public void RecordInto(Samples samples) => Volatile.Write(ref _target, samples);

    /// <summary>Picks that found no endpoint (should stay 0).</summary>
    public long Misses { get; private set; }

    /// <summary>The median time of an empty <see cref="Stopwatch.GetTimestamp"/> pair on this machine, in ns.</summary>
    public static double TimerFloorNanoseconds()
    {
        long[] floor = new long[20_000];
        for (int i = 0; i < floor.Length; i++)
        {
            long a = Stopwatch.GetTimestamp();
            long b = Stopwatch.GetTimestamp();
            floor[i] = b - a;
        }

        Array.Sort(floor);
        return floor[floor.Length / 2] * (1e9 / Stopwatch.Frequency);
    }

    public Task RunAsync(CancellationToken stopping) => Task.Factory.StartNew(() => Run(stopping), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stopping)
    {
        var random = new Random(7);
        string[] keys = new string[Burst];
        double nsPerTick = 1e9 / Stopwatch.Frequency;
        long misses = 0;
        while (!stopping.IsCancellationRequested)
        {
            for (int i = 0; i < keys.Length; i++)
            {
                keys[i] = _keys.Next(random);
            }

            Samples target = Volatile.Read(ref _target);
            for (int i = 0; i < Burst; i++)
            {
                long started = Stopwatch.GetTimestamp();
                bool acquired = _keyed ? _balancer.TryAcquire(keys[i], out EndpointLease lease) : _balancer.TryAcquire(out lease);
                lease.Dispose();
                long ended = Stopwatch.GetTimestamp();
                if (acquired)
                {
                    target.Add((long)((ended - started) * nsPerTick));
                }
                else
                {
                    misses++;
                }
            }

            Thread.Sleep(1);
        }

        Misses = misses;
    }
}
