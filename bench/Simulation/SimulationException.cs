namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>The simulation could not go on (a watcher that never synced, traffic that would not stop): the run fails with this message.</summary>
internal sealed class SimulationException : Exception
{
    public SimulationException()
    {
    }

    public SimulationException(string message)
        : base(message)
    {
    }

    public SimulationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
