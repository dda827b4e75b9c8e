namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// Samples the balancer's in-flight counts every few milliseconds: the largest count on any one endpoint, and
/// the time-averaged count per endpoint. For a bounded-load picker the peak must stay within the cap.
/// </summary>
internal sealed class InFlightSampler(LoadBalancer balancer)
{
    public int Peak { get; private set; }

    public string PeakEndpoint { get; private set; } = "";

    /// <summary>The mean over samples of (total in flight / endpoints in the set).</summary>
    public double AveragePerEndpoint => _samples == 0 ? 0 : _sumAverage / _samples;

    private double _sumAverage;
    private long _samples;

    public Task RunAsync(CancellationToken stopping) => Task.Run(async () =>
    {
        while (!stopping.IsCancellationRequested)
        {
            Sample();
            try
            {
                await Task.Delay(2, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }, CancellationToken.None);

    private void Sample()
    {
        IReadOnlyList<EndpointStatus> statuses = balancer.GetStatus();
        int total = 0;
        int current = 0;
        foreach (EndpointStatus status in statuses)
        {
            total += status.InFlight;
            if (!status.IsDraining)
            {
                current++;
            }

            if (status.InFlight > Peak)
            {
                Peak = status.InFlight;
                PeakEndpoint = status.Endpoint.Key;
            }
        }

        if (current > 0)
        {
            _sumAverage += (double)total / current;
            _samples++;
        }
    }
}
