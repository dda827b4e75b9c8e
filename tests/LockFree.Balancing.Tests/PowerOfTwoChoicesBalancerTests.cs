using Microsoft.Extensions.Time.Testing;
using Xunit;
using Xunit.Abstractions;

namespace LockFree.Balancing.Tests;

public sealed class PowerOfTwoChoicesBalancerTests(ITestOutputHelper output)
{
    [Fact]
    public void Constructor_BadOptions_ThrowWithAcceptedValues()
    {
        Assert.Contains("InFlight, RequestRate or Reported", Assert.Throws<ArgumentException>(
            () => new PowerOfTwoChoicesBalancer(new PowerOfTwoChoicesOptions { LoadMeasure = (LoadMeasure)9 })).Message, StringComparison.Ordinal);
        Assert.Contains("between 1 ms and 1 h", Assert.Throws<ArgumentException>(
            () => new PowerOfTwoChoicesBalancer(new PowerOfTwoChoicesOptions { RequestRateHalfLife = TimeSpan.Zero })).Message, StringComparison.Ordinal);
        Assert.Contains("ReportedLoadHalfLife", Assert.Throws<ArgumentException>(
            () => new PowerOfTwoChoicesBalancer(new PowerOfTwoChoicesOptions { ReportedLoadHalfLife = TimeSpan.FromHours(2) })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Acquire_InFlightWithTwoEndpoints_LoadsNeverDifferByMoreThanOne()
    {
        // With two endpoints both are always drawn, so every placement goes to the less loaded one.
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions { Seed = 1 });
        Endpoint[] endpoints = TestEndpoints.Distinct(2, seed: 1);
        balancer.Update(endpoints);
        List<EndpointLease> held = [];
        for (int i = 0; i < 40; i++)
        {
            held.Add(balancer.Acquire());
            Assert.InRange(balancer.InFlightOf(endpoints[0].Key) - balancer.InFlightOf(endpoints[1].Key), -1, 1);
        }

        held.ForEach(l => l.Dispose());
        Assert.All(endpoints, e => Assert.Equal(0, balancer.InFlightOf(e.Key)));
    }

    [Fact]
    public void Pick_NoLoad_WeightsDrawnInProportion()
    {
        // With every load 0 the comparison ties and the first draw wins, so picks follow the weights exactly.
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions { Seed = 5 });
        Endpoint heavy = new("10.0.0.1", 80, weight: 3);
        balancer.Update([heavy, new Endpoint("10.0.0.2", 80), new Endpoint("10.0.0.3", 80), new Endpoint("10.0.0.4", 80, weight: 0)]);

        int heavyPicks = Enumerable.Range(0, 40_000).Count(_ => balancer.Pick().Equals(heavy));

        // Expected 3/5 of 40,000 = 24,000; the standard deviation is about 98.
        Assert.InRange(heavyPicks, 23_500, 24_500);
    }

    [Fact]
    public void Acquire_Weights_InFlightPerUnitOfWeightStaysEven()
    {
        // Loads are compared per unit of weight: a weight-3 endpoint should carry three times the requests of a
        // weight-1 one. Two random choices keep the spread of per-weight loads small (it does not grow with the
        // number of requests); comparing raw counts instead would hold every endpoint near 175 here.
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions { Seed = 6 });
        Endpoint[] endpoints = [new("10.0.0.1", 80, weight: 3), new("10.0.0.2", 80), new("10.0.0.3", 80, weight: 2), new("10.0.0.4", 80)];
        balancer.Update(endpoints);
        List<EndpointLease> held = [];
        double widest = 0;
        for (int i = 0; i < 700; i++)
        {
            held.Add(balancer.Acquire());
            double[] perWeight = [.. endpoints.Select(e => (double)balancer.InFlightOf(e.Key) / e.Weight)];
            widest = Math.Max(widest, perWeight.Max() - perWeight.Min());
        }

        output.WriteLine($"widest spread of in-flight per unit of weight: {widest}");
        Assert.InRange(widest, 0, 4);
        Assert.InRange(balancer.InFlightOf(endpoints[0].Key), 295, 305);
        Assert.InRange(balancer.InFlightOf(endpoints[2].Key), 195, 205);
        Assert.InRange(balancer.InFlightOf(endpoints[1].Key), 97, 103);
        held.ForEach(l => l.Dispose());
    }

    [Fact]
    public void Pick_InFlight_EndpointMoreLoadedThanAllOthersNeverWins()
    {
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions { Seed = 2 });
        balancer.Update(TestEndpoints.Distinct(3, seed: 2));
        Endpoint busy = balancer.CurrentSnapshot.Endpoints[0];

        // Raise one endpoint's count directly: the picker itself would (rightly) not do it.
        global::LockFree.Balancing.Load.EndpointState busyState = balancer.CurrentSnapshot.States[0];
        Assert.True(busyState.TryAdd());

        Assert.DoesNotContain(Enumerable.Range(0, 2000).Select(_ => balancer.Pick()), e => e.Equals(busy));
        busyState.Release();
        Assert.Contains(Enumerable.Range(0, 2000).Select(_ => balancer.Pick()), e => e.Equals(busy));
    }

    [Fact]
    public void Pick_Reported_AvoidsTheEndpointReportingHighLoad()
    {
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions { LoadMeasure = LoadMeasure.Reported, Seed = 2 });
        Endpoint[] endpoints = TestEndpoints.Distinct(3, seed: 2);
        balancer.Update(endpoints);

        Assert.True(balancer.ReportLoad(endpoints[1], 0.95));
        Assert.True(balancer.ReportLoad(endpoints[0], 0.10));
        Assert.True(balancer.ReportLoad(endpoints[2], 0.20));
        Assert.False(balancer.ReportLoad(new Endpoint("10.99.99.99", 1), 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => balancer.ReportLoad(endpoints[0], double.NaN));

        Assert.DoesNotContain(Enumerable.Range(0, 2000).Select(_ => balancer.Pick()), e => e.Equals(endpoints[1]));
    }

    [Fact]
    public void Pick_Reported_AHighReportFadesSoTheEndpointIsTriedAgain()
    {
        // The endpoint that reported a high load gets no requests, so it cannot report a lower one: its report fades
        // with its age while the others, still serving, keep reporting theirs.
        FakeTimeProvider time = new();
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions
        {
            LoadMeasure = LoadMeasure.Reported, ReportedLoadHalfLife = TimeSpan.FromSeconds(10), Seed = 3, TimeProvider = time,
        });
        Endpoint[] endpoints = TestEndpoints.Distinct(3, seed: 2);
        balancer.Update(endpoints);
        balancer.ReportLoad(endpoints[0], 0.9);
        balancer.ReportLoad(endpoints[1], 0.3);
        balancer.ReportLoad(endpoints[2], 0.3);
        Assert.DoesNotContain(Enumerable.Range(0, 1000).Select(_ => balancer.Pick()), e => e.Equals(endpoints[0]));

        time.Advance(TimeSpan.FromSeconds(10)); // one half-life: 0.45 against fresh reports of 0.3
        balancer.ReportLoad(endpoints[1], 0.3);
        balancer.ReportLoad(endpoints[2], 0.3);
        Assert.DoesNotContain(Enumerable.Range(0, 1000).Select(_ => balancer.Pick()), e => e.Equals(endpoints[0]));
        Assert.Equal(0.9, balancer.GetStatus().Single(s => s.Endpoint.Equals(endpoints[0])).ReportedLoad); // the status shows the report as made

        time.Advance(TimeSpan.FromSeconds(10)); // two half-lives: 0.225 against 0.3
        balancer.ReportLoad(endpoints[1], 0.3);
        balancer.ReportLoad(endpoints[2], 0.3);
        int picked = Enumerable.Range(0, 1000).Count(_ => balancer.Pick().Equals(endpoints[0]));
        Assert.InRange(picked, 600, 734); // it wins every pair it is drawn in: 2/3 of them
    }

    [Fact]
    public void Acquire_RequestRate_AvoidsRecentlyBusyEndpointUntilItsRateDecays()
    {
        FakeTimeProvider time = new();
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions
        {
            LoadMeasure = LoadMeasure.RequestRate,
            RequestRateHalfLife = TimeSpan.FromSeconds(1),
            TimeProvider = time,
            Seed = 3,
        });
        Endpoint[] endpoints = TestEndpoints.Distinct(2, seed: 3);
        balancer.Update(endpoints);

        // Two endpoints: every acquire compares both, so they alternate as each one's rate overtakes.
        int[] counts = new int[2];
        for (int i = 0; i < 1000; i++)
        {
            using EndpointLease lease = balancer.Acquire();
            counts[Array.IndexOf(endpoints, lease.Endpoint)]++;
        }

        Assert.InRange(counts[0], 499, 501);

        // A burst on one endpoint is remembered, then forgotten after a few half-lives.
        for (int i = 0; i < 200; i++)
        {
            balancer.CurrentSnapshot.States[0].RecordRequest(time.GetTimestamp(), Math.Log(2) / time.TimestampFrequency);
        }

        Endpoint burst = balancer.CurrentSnapshot.Endpoints[0];
        Assert.All(Enumerable.Range(0, 50), _ => Assert.NotEqual(burst, balancer.Pick()));
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.Contains(Enumerable.Range(0, 50).Select(_ => { using EndpointLease l = balancer.Acquire(); return l.Endpoint; }), e => e.Equals(burst));
    }

    [Fact]
    public void Simulation_SkewedServiceTimes_PowerOfTwoBeatsRoundRobin()
    {
        // Deterministic discrete-time simulation: 10 single-server FIFO endpoints, one 4x slower than
        // the rest; two requests arrive per tick (86 % utilisation). Round robin keeps sending the slow
        // endpoint its tenth, so its queue grows without bound; power of two choices sees its in-flight
        // count and starves it just enough.
        double roundRobin = MeanLatency(new RoundRobinBalancer());
        double powerOfTwo = MeanLatency(new PowerOfTwoChoicesBalancer(new PowerOfTwoChoicesOptions { Seed = 4 }));

        output.WriteLine($"mean latency in ticks: round robin {roundRobin:F1}, power of two choices {powerOfTwo:F1}");
        Assert.True(powerOfTwo < roundRobin / 3, $"power of two {powerOfTwo:F1} not well below round robin {roundRobin:F1}");
    }

    private static double MeanLatency(LoadBalancer balancer)
    {
        Endpoint[] endpoints = TestEndpoints.Sequential(10);
        balancer.Update(endpoints);
        int[] serviceTicks = [16, 4, 4, 4, 4, 4, 4, 4, 4, 4];
        Dictionary<Endpoint, int> index = endpoints.Select((e, i) => (e, i)).ToDictionary(p => p.e, p => p.i);
        long[] serverFreeAt = new long[endpoints.Length];
        PriorityQueue<EndpointLease, long> completions = new();
        long totalLatency = 0;
        int requests = 0;
        for (long tick = 0; tick < 20_000; tick++)
        {
            while (completions.TryPeek(out _, out long at) && at <= tick)
            {
                completions.Dequeue().Dispose();
            }

            for (int arrival = 0; arrival < 2; arrival++)
            {
                EndpointLease lease = balancer.Acquire();
                int server = index[lease.Endpoint];
                long start = Math.Max(tick, serverFreeAt[server]);
                long done = start + serviceTicks[server];
                serverFreeAt[server] = done;
                totalLatency += done - tick;
                requests++;
                completions.Enqueue(lease, done);
            }
        }

        while (completions.Count > 0)
        {
            completions.Dequeue().Dispose();
        }

        return totalLatency / (double)requests;
    }

    [Fact]
    public void Pick_DrawsKeepCollidingOnHeavyEndpoint_SecondCandidateSpreadsOverTheOthers()
    {
        // The first endpoint in key order holds almost all the weight, so the second draw collides with it most of
        // the time; the second candidate must still be drawn by weight among the others, not be its fixed neighbour.
        // The heavy endpoint reports a high load, so whenever it is drawn the second candidate gets the request.
        PowerOfTwoChoicesBalancer balancer = new(new PowerOfTwoChoicesOptions { Seed = 11, LoadMeasure = LoadMeasure.Reported, TimeProvider = new FakeTimeProvider() });
        Endpoint[] endpoints = TestEndpoints.Sequential(5);
        balancer.Update([endpoints[0].WithWeight(1000), .. endpoints[1..]]);
        Endpoint heavy = balancer.Endpoints[0];
        balancer.ReportLoad(heavy, 1000);
        Dictionary<string, int> others = [];
        for (int i = 0; i < 20_000; i++)
        {
            Endpoint picked = balancer.Pick();
            if (!picked.Equals(heavy))
            {
                others[picked.Key] = others.GetValueOrDefault(picked.Key) + 1;
            }
        }

        Assert.Equal(4, others.Count);
        Assert.True(others.Values.Max() < 1.3 * others.Values.Min(), string.Join(", ", others.Select(o => $"{o.Key}={o.Value}")));
    }
}
