namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>What the simulation measured, for the tables and the report.</summary>
internal sealed record SimulationOutcome(SimulationSettings Settings, List<PickerResult> Pickers, double TimerFloorNanoseconds, TimeSpan Elapsed, string ClientDescription)
{
    public IEnumerable<string> Failures => Pickers.SelectMany(p => p.Failures);
}
