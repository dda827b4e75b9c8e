using Xunit;

namespace LockFree.Balancing.Tests.Concurrency;

/// <summary>
/// <see cref="LoadBalancer.View"/> reads the endpoints and their version from one snapshot: under concurrent updates a
/// view never pairs one set with another set's version.
/// </summary>
public sealed class EndpointSetViewTests
{
    // Update i publishes 1 + i % Sizes endpoints, so a view is consistent exactly when Count == 1 + Version % Sizes.
    private const int Sizes = 50;

    [Fact]
    public void View_BeforeAnyUpdate_VersionZeroAndEmpty()
    {
        LoadBalancer balancer = new RoundRobinBalancer(new LoadBalancerOptions());

        EndpointSetView view = balancer.View;

        Assert.Equal(0, view.Version);
        Assert.Empty(view.Endpoints);
        Assert.False(view.HasPickableEndpoints);
        Assert.Empty(default(EndpointSetView).Endpoints);
    }

    [Fact]
    public void View_WeightZeroOnly_HasNoPickableEndpoints()
    {
        LoadBalancer balancer = new RoundRobinBalancer(new LoadBalancerOptions());
        balancer.Update([new Endpoint("10.0.0.1", 80, weight: 0)]);

        Assert.Single(balancer.View.Endpoints);
        Assert.False(balancer.View.HasPickableEndpoints);
        balancer.Update([new Endpoint("10.0.0.1", 80, weight: 1)]);
        Assert.True(balancer.View.HasPickableEndpoints);
        Assert.Equal(2, balancer.View.Version);
    }

    [Fact]
    public void View_WhileAnotherThreadUpdates_EndpointsAlwaysBelongToTheVersion()
    {
        LoadBalancer balancer = new RoundRobinBalancer(new LoadBalancerOptions());
        Endpoint[][] sets = [.. Enumerable.Range(0, Sizes).Select(i => TestEndpoints.Sequential(1 + i))];
        using CancellationTokenSource limit = new(TimeSpan.FromSeconds(30));
        int updated = 0;
        Exception? writerError = null;

        Thread writer = new(() =>
        {
            try
            {
                for (int i = 1; i <= 20_000 && !limit.IsCancellationRequested; i++)
                {
                    Assert.True(balancer.Update(sets[i % Sizes]));
                    Volatile.Write(ref updated, i);
                }
            }
            catch (Exception e)
            {
                writerError = e;
            }
        });
        writer.Start();

        long views = 0;
        long versionsSeen = 0;
        long lastVersion = -1;
        while (writer.IsAlive && !limit.IsCancellationRequested)
        {
            EndpointSetView view = balancer.View;
            if (view.Version == 0)
            {
                Assert.Empty(view.Endpoints);
                continue;
            }

            Assert.Equal(1 + (view.Version % Sizes), view.Endpoints.Count);
            Assert.True(view.Version >= lastVersion, "A later view had an older version.");
            versionsSeen += view.Version != lastVersion ? 1 : 0;
            lastVersion = view.Version;
            views++;
        }

        writer.Join();
        Assert.Null(writerError);
        Assert.False(limit.IsCancellationRequested, "The race did not finish in time.");
        Assert.Equal(20_000, Volatile.Read(ref updated));
        Assert.Equal(20_000, balancer.View.Version);

        // The reader overlapped the writer: it saw many versions, not only the first or the last.
        Assert.True(versionsSeen > 10, $"The reader saw {versionsSeen} versions in {views} views.");
    }
}
