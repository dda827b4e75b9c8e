namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>Everything one picker's run measured, ready for the tables.</summary>
internal sealed class PickerResult(PickerSpec picker)
{
    public PickerSpec Picker { get; } = picker;

    public List<PhaseStats> Phases { get; } = [];

    /// <summary>How the requests were sent (<see cref="IBalancedTraffic.Description"/>).</summary>
    public string TrafficDescription { get; set; } = "";

    /// <summary>Requests served per pod in the steady phase, pods in name order.</summary>
    public List<(string Pod, long Requests)> SteadyShare { get; } = [];

    /// <summary>Keys whose home moved when one of N pods left (keyed pickers only).</summary>
    public KeyMovement? ScaleDownMovement { get; set; }

    /// <summary>API change → picker sees it, in microseconds, sorted, by how the change travelled (<see cref="ChangeTracker.LiveWatch"/>, …).</summary>
    public Dictionary<string, long[]> EventLatencyMicroseconds { get; } = new(StringComparer.Ordinal);

    public long[] SteadyPickNanoseconds { get; set; } = [];

    public long[] ChurnPickNanoseconds { get; set; } = [];

    public long ProbeMisses { get; set; }

    /// <summary>The most requests in flight on one endpoint in the balancer's own counts (sampled every 2 ms, whole run); null when the traffic does not use this balancer.</summary>
    public int? PeakInFlight { get; set; }

    public string PeakInFlightEndpoint { get; set; } = "";

    /// <summary>Time-averaged (total in flight / endpoints) from the same samples.</summary>
    public double? AverageInFlightPerEndpoint { get; set; }

    /// <summary>The most requests any pod had in progress at once, counted by the pods themselves (exact, whole run).</summary>
    public int ServerPeakInFlight { get; set; }

    public string ServerPeakPod { get; set; } = "";

    /// <summary>The bounded-load cap ⌈c · concurrency / N_min⌉ the peaks must respect; null for unbounded pickers.</summary>
    public int? InFlightCap { get; set; }

    public int Concurrency { get; set; }

    public int MinimumSetSize { get; set; }

    public long WatcherLists { get; set; }

    public long WatcherVersions { get; set; }

    public int WatchRequests { get; set; }

    public List<string> Failures { get; } = [];

    public long TotalRequests => Phases.Sum(p => p.Requests);

    public long TotalErrors => Phases.Sum(p => p.Errors);

    public PhaseStats Steady => Phases[0];

    /// <summary>Peak pod's requests over the average pod's, in the steady phase.</summary>
    public double PeakOverAverage
    {
        get
        {
            if (SteadyShare.Count == 0)
            {
                return double.NaN;
            }

            double average = SteadyShare.Average(s => (double)s.Requests);
            return average == 0 ? double.NaN : SteadyShare.Max(s => s.Requests) / average;
        }
    }
}
