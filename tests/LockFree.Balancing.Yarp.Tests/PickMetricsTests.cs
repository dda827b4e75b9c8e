using System.Diagnostics.Metrics;
using LockFree.Balancing.Yarp.Policies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using Yarp.ReverseProxy.Model;
using static LockFree.Balancing.Yarp.Tests.TestClusters;

namespace LockFree.Balancing.Yarp.Tests;

/// <summary>The picks counter: on the container's meter, by policy, outcome and cluster, never a destination or a key.</summary>
public sealed class PickMetricsTests
{
    [Theory]
    [InlineData(LockFreeLoadBalancingPolicies.Maglev, "header:x-user")]
    [InlineData(LockFreeLoadBalancingPolicies.RoundRobin, null)]
    public void Picks_CountedOnTheContainersMeter_ByPolicyOutcomeAndCluster(string name, string? hashKey)
    {
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        using var picks = new MetricCollector<long>(factory, YarpMetrics.MeterName, YarpMetrics.PicksName);
        PolicyKind kind = PolicyKinds.FromName(name)!.Value;
        var policy = new LockFreeLoadBalancingPolicy(kind, TimeProvider.System, NullLogger.Instance, YarpMetrics.Create(factory));
        ClusterState cluster = Cluster(Config(name, hashKey, null), Destinations(4));

        for (int i = 0; i < 10; i++)
        {
            DefaultHttpContext context = Request("user-" + i);
            Assert.NotNull(policy.PickDestination(context, cluster, cluster.DestinationsState.AvailableDestinations));
        }

        var measured = picks.GetMeasurementSnapshot();
        Assert.Equal(10, measured.Count);
        Assert.Equal("{pick}", picks.Instrument!.Unit);
        Assert.All(measured, m =>
        {
            Assert.Equal(name, m.Tags[YarpMetrics.PickerTag]);
            Assert.Equal("home", m.Tags[YarpMetrics.OutcomeTag]);
            Assert.Equal(cluster.ClusterId, m.Tags[YarpMetrics.ClusterTag]);
            Assert.Equal(3, m.Tags.Count); // never a destination or a key
        });
    }

    [Fact]
    public void Picks_OfTwoContainers_StayApart()
    {
        using ServiceProvider first = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using ServiceProvider second = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var firstPicks = new MetricCollector<long>(first.GetRequiredService<IMeterFactory>(), YarpMetrics.MeterName, YarpMetrics.PicksName);
        using var secondPicks = new MetricCollector<long>(second.GetRequiredService<IMeterFactory>(), YarpMetrics.MeterName, YarpMetrics.PicksName);
        var policy = new LockFreeLoadBalancingPolicy(PolicyKind.RoundRobin, TimeProvider.System, NullLogger.Instance, YarpMetrics.Create(first.GetRequiredService<IMeterFactory>()));
        ClusterState cluster = Cluster(Config(LockFreeLoadBalancingPolicies.RoundRobin, null, null), Destinations(2));

        policy.PickDestination(Request("a"), cluster, cluster.DestinationsState.AvailableDestinations);

        Assert.Single(firstPicks.GetMeasurementSnapshot());
        Assert.Empty(secondPicks.GetMeasurementSnapshot());
    }
}
