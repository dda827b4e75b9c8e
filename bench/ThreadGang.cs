namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// A fixed set of threads that run one piece of work together, for benchmarks that measure how a picker
/// scales: <see cref="Run"/> starts the work on every worker and on the calling thread (index 0) and returns
/// when all of them finished, so one benchmark call is one parallel batch and its time is the wall time.
/// </summary>
/// <remarks>
/// Workers are started once (no thread start per call) and wait for the next batch by spinning with yields,
/// never <c>Thread.Sleep(1)</c>, whose millisecond wake-up would dwarf a batch. Between batches a waiting
/// worker yields its core to anything runnable. Background threads: they never keep the process alive.
/// </remarks>
internal sealed class ThreadGang : IDisposable
{
    private readonly Thread[] _workers;
    private Action<int>? _work;
    private int _generation;
    private int _running;
    private volatile bool _stopping;

    /// <summary>Creates <paramref name="threads"/> − 1 workers; the caller of <see cref="Run"/> is the last thread.</summary>
    public ThreadGang(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _workers = new Thread[threads - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            int index = i + 1;
            _workers[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"bench-worker-{index}" };
            _workers[i].Start();
        }
    }

    /// <summary>Threads that run each batch, the caller included.</summary>
    public int Threads { get; }

    /// <summary>Runs <paramref name="work"/>(thread index) on every thread at once and waits for all of them.</summary>
    public void Run(Action<int> work)
    {
        // Step 1 – publish the work, then the count of workers to wait for, then the new generation that releases them.
        _work = work;
        Volatile.Write(ref _running, _workers.Length);
        Interlocked.Increment(ref _generation);

        // Step 2 – the caller's share.
        work(0);

        // Step 3 – wait for the workers' shares.
        SpinWait spin = default;
        while (Volatile.Read(ref _running) != 0)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (Thread worker in _workers)
        {
            worker.Join();
        }
    }

    private void WorkerLoop(int index)
    {
        int seen = 0; // the generation before the first Run: a worker that starts late still sees every batch
        SpinWait spin = default;
        while (!_stopping)
        {
            int generation = Volatile.Read(ref _generation);
            if (generation == seen)
            {
                spin.SpinOnce(sleep1Threshold: -1);
                continue;
            }

            seen = generation;
            spin.Reset();
            _work!(index);
            Interlocked.Decrement(ref _running);
        }
    }
}
