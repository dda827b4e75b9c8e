using System.Net;
using LockFree.Balancing.Yarp.Policies;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Yarp.ReverseProxy.Model;
using static LockFree.Balancing.Yarp.Tests.TestClusters;

namespace LockFree.Balancing.Yarp.Tests;

/// <summary>A pick, and the release the forwarder wrapper does, allocate nothing while YARP's list is unchanged.</summary>
public sealed class PickAllocationTests
{
    public static TheoryData<string, string?> Policies() => new()
    {
        { LockFreeLoadBalancingPolicies.ConsistentHash, "header:x-user" },
        { LockFreeLoadBalancingPolicies.Maglev, "header:x-user" },
        { LockFreeLoadBalancingPolicies.ConsistentHash, "cookie:session" },
        { LockFreeLoadBalancingPolicies.Maglev, "route:id" },
        { LockFreeLoadBalancingPolicies.Maglev, "client-ip" },
        { LockFreeLoadBalancingPolicies.PowerOfTwoChoices, null },
        { LockFreeLoadBalancingPolicies.RoundRobin, null },
    };

    [Theory]
    [MemberData(nameof(Policies))]
    public void PickAndRelease_SteadyState_AllocatesNothing(string name, string? hashKey) => Measure(name, hashKey, Policy(PolicyKinds.FromName(name)!.Value));

    [Theory]
    [MemberData(nameof(Policies))]
    public void PickAndRelease_PicksCounterListened_AllocatesNothing(string name, string? hashKey)
    {
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        long counted = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == YarpMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => counted += value);
        listener.Start();
        Measure(name, hashKey, new LockFreeLoadBalancingPolicy(PolicyKinds.FromName(name)!.Value, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, YarpMetrics.Create(factory)));
        Assert.Equal(62_000, counted); // every pick counted, warm-up included
    }

    private static void Measure(string name, string? hashKey, LockFreeLoadBalancingPolicy policy)
    {
        PolicyKind kind = PolicyKinds.FromName(name)!.Value;
        ClusterState cluster = Cluster(Config(name, hashKey, kind.PlacesByKey() ? "1.25" : null), Destinations(100));
        IReadOnlyList<DestinationState> available = cluster.DestinationsState.AvailableDestinations;

        // Distinct keys, made before measuring: the loop reads them, as a request's header is read.
        DefaultHttpContext[] contexts = [.. Enumerable.Range(0, 64).Select(i =>
        {
            DefaultHttpContext context = Request("user-" + i);
            context.Request.Headers.Cookie = "a=b; session=s" + i;
            context.Request.RouteValues["id"] = "item-" + i;
            context.Connection.RemoteIpAddress = IPAddress.Parse("10.1.2." + (i + 1));
            return context;
        })];

        // Warm-up: the table is built, the feature dictionaries have room, the JIT is done.
        for (int i = 0; i < 2_000; i++)
        {
            Round(policy, cluster, available, contexts[i % contexts.Length]);
        }

        // Three rounds, the least kept: a pick that allocates does so in every round; a one-off allocation by the
        // runtime on this thread (seen in the gRPC tests' processes) does not repeat.
        long allocated = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20_000; i++)
            {
                Round(policy, cluster, available, contexts[i % contexts.Length]);
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, allocated);
        Assert.Equal(1, policy.StateOf(cluster)!.Rebuilds);
    }

    private static void Round(LockFreeLoadBalancingPolicy policy, ClusterState cluster, IReadOnlyList<DestinationState> available, HttpContext context)
    {
        if (policy.PickDestination(context, cluster, available) is null || !HeldLease.ReleaseFrom(context))
        {
            throw new InvalidOperationException("a pick must place the request and hold one count");
        }
    }
}
