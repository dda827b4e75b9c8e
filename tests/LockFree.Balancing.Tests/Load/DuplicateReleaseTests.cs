using Xunit;

namespace LockFree.Balancing.Tests.Load;

/// <summary>
/// A lease released twice (through a defensive copy, an <see langword="in"/> copy, a plain copy, or two threads
/// disposing one variable at once) must never drive a count below 0, must not blacklist the endpoint under bounded
/// loads, and must show in <see cref="EndpointStatus.IgnoredReleases"/>.
/// </summary>
public sealed class DuplicateReleaseTests
{
    private const int Acquires = 10_000;

    [Fact]
    public void Dispose_TwiceOnReadonlyField_CountStaysAtZeroAndEndpointKeepsItsShare()
    {
        ConsistentHashBalancer balancer = Bounded();
        ReadonlyLeaseHolder holder = new(balancer.Acquire("victim"));
        Endpoint victim = holder.Lease.Endpoint;

        // Each call disposes a defensive copy of the readonly field: the field itself is never cleared.
        holder.Release();
        holder.Release();

        AssertReleaseWasIgnored(balancer, victim, expectedIgnored: 1);
    }

    [Fact]
    public void Dispose_OnInParameterCopyThenOnOriginal_CountStaysAtZeroAndEndpointKeepsItsShare()
    {
        ConsistentHashBalancer balancer = Bounded();
        EndpointLease lease = balancer.Acquire("victim");
        Endpoint victim = lease.Endpoint;

        DisposeIn(in lease);
        Assert.True(lease.IsHeld); // the callee disposed a defensive copy
        lease.Dispose();

        AssertReleaseWasIgnored(balancer, victim, expectedIgnored: 1);
    }

    [Fact]
    public void Dispose_CopyAndOriginalSequentially_CountStaysAtZeroAndEndpointKeepsItsShare()
    {
        ConsistentHashBalancer balancer = Bounded();
        EndpointLease lease = balancer.Acquire("victim");
        EndpointLease copy = lease;
        Endpoint victim = lease.Endpoint;

        lease.Dispose();
        copy.Fail();
        lease.Dispose();

        AssertReleaseWasIgnored(balancer, victim, expectedIgnored: 1);
    }

    [Fact]
    public void Dispose_SameVariableFromTwoThreadsAtOnce_CountNeverBelowZeroAndEndpointKeepsItsShare()
    {
        ConsistentHashBalancer balancer = Bounded();
        MutableLeaseHolder holder = new();
        Endpoint victim = balancer.Pick("victim");
        // Bounded in time, never by a crash: a loaded machine may finish fewer rounds, and a cancelled barrier wait
        // must end its thread quietly (an exception escaping a raw thread kills the test host).
        using CancellationTokenSource stop = new(TimeSpan.FromSeconds(30));
        using Barrier start = new(2);
        using Barrier done = new(2);
        int minimum = int.MaxValue;
        const int Rounds = 1000;

        Thread second = new(() =>
        {
            try
            {
                for (int round = 0; round < Rounds; round++)
                {
                    start.SignalAndWait(stop.Token);
                    holder.Lease.Dispose();
                    done.SignalAndWait(stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
                // the time bound ran out; the main thread sees it too
            }
        });
        second.Start();

        int rounds = 0;
        try
        {
            for (; rounds < Rounds; rounds++)
            {
                holder.Lease = AcquireOn(balancer, victim);
                start.SignalAndWait(stop.Token);
                holder.Lease.Dispose();
                done.SignalAndWait(stop.Token);
                minimum = Math.Min(minimum, StatusOf(balancer, victim).InFlight);
            }
        }
        catch (OperationCanceledException)
        {
            holder.Lease.Dispose(); // the round cut short may still hold its lease
        }

        second.Join();
        Assert.True(rounds >= 100, $"only {rounds} rounds in 30 s");

        // Every racing release beyond one per round was refused: the count never went below 0.
        Assert.Equal(0, minimum);
        Assert.Equal(0, StatusOf(balancer, victim).InFlight);
        Assert.InRange(StatusOf(balancer, victim).IgnoredReleases, 0, Rounds);
        AssertKeepsItsShare(balancer, victim);
    }

    private static void DisposeIn(in EndpointLease lease) => lease.Dispose();

    private static ConsistentHashBalancer Bounded()
    {
        ConsistentHashBalancer balancer = new(new ConsistentHashOptions { LoadFactor = 1.25 });
        balancer.Update(TestEndpoints.Distinct(4, seed: 61));
        return balancer;
    }

    private static EndpointLease AcquireOn(LoadBalancer balancer, Endpoint target)
    {
        for (int i = 0; i < 1000; i++)
        {
            EndpointLease lease = balancer.Acquire($"probe-{i}");
            if (lease.Endpoint.Equals(target))
            {
                return lease;
            }

            lease.Dispose();
        }

        Assert.Fail($"1000 keyed acquires never reached {target.Key}.");
        return default;
    }

    private static void AssertReleaseWasIgnored(LoadBalancer balancer, Endpoint victim, int expectedIgnored)
    {
        EndpointStatus status = StatusOf(balancer, victim);
        Assert.Equal(0, status.InFlight);
        Assert.Equal(expectedIgnored, status.IgnoredReleases);
        AssertKeepsItsShare(balancer, victim);
    }

    // With one request at a time every acquire goes home, so the victim must get exactly the keys a plain pick gives it.
    private static void AssertKeepsItsShare(LoadBalancer balancer, Endpoint victim)
    {
        int due = 0;
        int got = 0;
        foreach (string key in TestEndpoints.Keys(Acquires, seed: 62))
        {
            due += balancer.Pick(key).Equals(victim) ? 1 : 0;
            using EndpointLease lease = balancer.Acquire(key);
            got += lease.Endpoint.Equals(victim) ? 1 : 0;
        }

        Assert.InRange(due, Acquires / 10, Acquires);
        Assert.InRange(got, due * 9 / 10, due);
    }

    private static EndpointStatus StatusOf(LoadBalancer balancer, Endpoint endpoint)
        => balancer.GetStatus().Single(s => s.Endpoint.Key == endpoint.Key);

    private sealed class ReadonlyLeaseHolder(EndpointLease lease)
    {
        public readonly EndpointLease Lease = lease;

        public void Release() => Lease.Dispose();
    }

    private sealed class MutableLeaseHolder
    {
        public EndpointLease Lease;
    }
}
