using LockFree.Balancing.Load;
using Xunit;

namespace LockFree.Balancing.Tests.Load;

/// <summary>
/// Requests on removed (draining) endpoints are not balls in the current bins: the bounded-load capacity counts
/// only requests on endpoints of the current set (Mirrokni, Thorup, Zadimoghaddam), and a state the balancer has
/// forgotten admits nothing, so a picker holding an old snapshot cannot place a request beside the cap.
/// </summary>
public sealed class DrainingLoadTests
{
    [Fact]
    public void Acquire_LongRequestsDrainingOnRemovedEndpoints_CapCountsOnlyCurrentEndpoints()
    {
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { LoadFactor = 1.25 });
        Endpoint[] endpoints = TestEndpoints.Distinct(12, seed: 81);
        balancer.Update(endpoints[..3]);
        List<EndpointLease> held = [.. TestEndpoints.Keys(300, seed: 82).Select(k => balancer.Acquire(k))];

        // The three pods leave with their 300 long requests; nine live pods take 20 requests.
        balancer.Update(endpoints[3..]);
        held.AddRange(TestEndpoints.Keys(20, seed: 83).Select(k => balancer.Acquire(k)));
        Endpoint home = balancer.Pick("hot");
        int onHome = 0;
        for (int i = 0; i < 20; i++)
        {
            EndpointLease lease = balancer.Acquire("hot");
            onHome += lease.Endpoint.Equals(home) ? 1 : 0;
            held.Add(lease);
        }

        // At most ⌈1.25 · 40 / 9⌉ = 6 of the 40 requests on the current set; counting the 300 draining ones gave 48.
        int homeLoad = balancer.GetStatus().Single(s => s.Endpoint.Equals(home)).InFlight;
        Assert.InRange(homeLoad, onHome, 6);
        Assert.Equal(300, balancer.GetStatus().Where(s => s.IsDraining).Sum(s => s.InFlight));
        held.ForEach(lease => lease.Dispose());
        Assert.All(balancer.GetStatus(), s => Assert.Equal(0, s.InFlight));
    }

    [Fact]
    public void TryAddWithin_StateForgottenAfterRemoval_AdmitsNothing()
    {
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { LoadFactor = 1.25 });
        Endpoint[] endpoints = TestEndpoints.Distinct(4, seed: 84);
        balancer.Update(endpoints);
        BalancerSnapshot old = balancer.CurrentSnapshot;
        EndpointState stale = old.States[0];

        // Removed with nothing in flight (forgotten), then re-added: the key gets a fresh state.
        balancer.Remove(old.Endpoints[0]);
        balancer.Add(old.Endpoints[0]);
        Assert.NotSame(stale, balancer.CurrentSnapshot.States[0]);

        // A picker still holding the old snapshot must not be able to count a request on the forgotten state, whether
        // it guesses the word (a placement's home) or reads it first (a sweep over every endpoint).
        Assert.False(stale.TryAddWithin(new LoadCapacity(long.MaxValue, 1)));
        Assert.False(stale.TryAddWithinReadFirst(new LoadCapacity(long.MaxValue, 1)));
        Assert.True(stale.IsDetached);
        Assert.Equal(0, stale.InFlight);
    }

    [Fact]
    public void TryAddWithinReadFirst_AdmitsUpToTheCapacityLikeTheGuessingPath()
    {
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { LoadFactor = 1.25 });
        balancer.Update(TestEndpoints.Distinct(2, seed: 85));
        EndpointState guessing = balancer.CurrentSnapshot.States[0];
        EndpointState readingFirst = balancer.CurrentSnapshot.States[1];
        var capacity = new LoadCapacity(3, 1); // admits while fewer than 3 are in flight

        bool[] guessed = [.. Enumerable.Range(0, 5).Select(_ => guessing.TryAddWithin(capacity))];
        bool[] read = [.. Enumerable.Range(0, 5).Select(_ => readingFirst.TryAddWithinReadFirst(capacity))];

        Assert.Equal([true, true, true, false, false], guessed);
        Assert.Equal(guessed, read);
        Assert.Equal((3, 3), (guessing.InFlight, readingFirst.InFlight));
    }
}
