namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>What the simulation measured, for the tables and the report.</summary>
internal sealed record SimulationOutcome(SimulationSettings Settings, List<PickerResult> Pickers, double TimerFloorNanoseconds, TimeSpan Elapsed, string ClientDescription)
{
    /// <summary>The gRPC phase: one result per gRPC policy, after the HTTP pickers.</summary>
    public List<PickerResult> Grpc { get; init; } = [];

    /// <summary>How the gRPC phase's calls were sent.</summary>
    public string GrpcDescription { get; init; } = "";

    public IEnumerable<string> Failures => Pickers.Concat(Grpc).SelectMany(p => p.Failures);
}
