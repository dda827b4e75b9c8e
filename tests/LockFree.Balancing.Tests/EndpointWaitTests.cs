using Xunit;

namespace LockFree.Balancing.Tests;

/// <summary>
/// <see cref="LoadBalancer.WaitForEndpointsAsync"/> and <see cref="LoadBalancer.WaitForChangeAsync"/>: waits complete
/// when a set is published, honour cancellation, leave nothing registered, and fault when the balancer is disposed.
/// </summary>
public sealed class EndpointWaitTests
{
    // Every wait in these tests is bounded: a wait that should complete and does not fails the test instead of hanging it.
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task WaitForEndpointsAsync_ThenPublish_CompletesWithTheFirstPickableSet()
    {
        using LoadBalancer balancer = new RoundRobinBalancer(new LoadBalancerOptions());
        ValueTask<EndpointSetView> waiting = balancer.WaitForEndpointsAsync();
        Assert.False(waiting.IsCompleted);

        // A set with nothing to pick (every weight 0) does not end the wait.
        balancer.Update([new Endpoint("10.0.0.1", 80, weight: 0)]);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, balancer.PendingWaiters);

        Endpoint[] endpoints = TestEndpoints.Sequential(3);
        balancer.Update(endpoints);
        EndpointSetView view = await waiting.AsTask().WaitAsync(Limit);

        Assert.Equal(2, view.Version);
        Assert.Equal(endpoints, view.Endpoints);
        Assert.True(view.HasPickableEndpoints);
        Assert.Equal(0, balancer.PendingWaiters);
    }

    [Fact]
    public async Task WaitForEndpointsAsync_EndpointsPresent_CompletesAtOnceWithoutAllocating()
    {
        using LoadBalancer balancer = new RoundRobinBalancer(new LoadBalancerOptions());
        balancer.Update(TestEndpoints.Sequential(3));
        Assert.Equal(1, (await balancer.WaitForEndpointsAsync()).Version);
        Assert.Equal(1, (await balancer.WaitForChangeAsync(0)).Version);

        long before = GC.GetAllocatedBytesForCurrentThread();
        long versions = 0;
        for (int i = 0; i < 1000; i++)
        {
            versions += CompletedVersion(balancer.WaitForEndpointsAsync()) + CompletedVersion(balancer.WaitForChangeAsync(0));
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(2000, versions);
        Assert.Equal(0, balancer.PendingWaiters);
    }

    // The version of a wait that must have completed synchronously (-1000000 otherwise, which fails the sum above).
    private static long CompletedVersion(ValueTask<EndpointSetView> wait)
        => wait.IsCompletedSuccessfully ? wait.Result.Version : -1_000_000;

    [Fact]
    public async Task WaitForChangeAsync_CompletesOnTheNextPublishedChangeOnly()
    {
        using LoadBalancer balancer = new RoundRobinBalancer(new LoadBalancerOptions());
        Endpoint[] first = TestEndpoints.Sequential(2);
        balancer.Update(first);
        EndpointSetView seen = balancer.View;

        ValueTask<EndpointSetView> next = balancer.WaitForChangeAsync(seen.Version);
        Assert.False(balancer.Update(first)); // the same set: nothing published
        Assert.False(next.IsCompleted);

        Assert.True(balancer.Remove(first[0]));
        EndpointSetView changed = await next.AsTask().WaitAsync(Limit);
        Assert.Equal(seen.Version + 1, changed.Version);
        Assert.Equal([first[1]], changed.Endpoints);

        // A version already passed returns the current view at once; a future one waits for it.
        Assert.Equal(changed.Version, (await balancer.WaitForChangeAsync(0)).Version);
        ValueTask<EndpointSetView> later = balancer.WaitForChangeAsync(changed.Version + 1);
        balancer.Add(first[0]);
        Assert.False(later.IsCompleted);
        balancer.Remove(first[0]);
        Assert.Equal(changed.Version + 2, (await later.AsTask().WaitAsync(Limit)).Version);
    }

    [Fact]
    public async Task WaitForEndpointsAsync_Canceled_CanceledWithTheTokenAndNothingLeftRegistered()
    {
        using LoadBalancer balancer = new RoundRobinBalancer(new LoadBalancerOptions());
        using CancellationTokenSource cancel = new();
        ValueTask<EndpointSetView> waiting = balancer.WaitForEndpointsAsync(cancel.Token);
        ValueTask<EndpointSetView> change = balancer.WaitForChangeAsync(balancer.Version, cancel.Token);
        Assert.Equal(2, balancer.PendingWaiters);

        await cancel.CancelAsync();

        OperationCanceledException canceled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.AsTask().WaitAsync(Limit));
        Assert.Equal(cancel.Token, canceled.CancellationToken);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => change.AsTask().WaitAsync(Limit));
        Assert.Equal(0, balancer.PendingWaiters);

        // An update after the cancellation finds nothing to complete; a token canceled before the call registers nothing.
        balancer.Update(TestEndpoints.Sequential(1));
        ValueTask<EndpointSetView> already = balancer.WaitForChangeAsync(balancer.Version, cancel.Token);
        Assert.True(already.IsCanceled);
        Assert.Equal(0, balancer.PendingWaiters);
    }

    [Fact]
    public async Task WaitForEndpointsAsync_ManyWaiters_OnePublishCompletesEveryOne()
    {
        using LoadBalancer balancer = new RoundRobinBalancer(new LoadBalancerOptions());
        using CancellationTokenSource cancel = new();
        Task<EndpointSetView>[] waits = [.. Enumerable.Range(0, 1000).Select(i => i % 2 == 0 ? balancer.WaitForEndpointsAsync(cancel.Token).AsTask() : balancer.WaitForChangeAsync(0).AsTask())];

        // Many waiters that give up without a publish leave nothing behind either.
        using CancellationTokenSource giveUp = new();
        Task<EndpointSetView>[] abandoned = [.. Enumerable.Range(0, 1000).Select(_ => balancer.WaitForEndpointsAsync(giveUp.Token).AsTask())];
        Assert.Equal(2000, balancer.PendingWaiters);
        await giveUp.CancelAsync();
        Assert.Equal(1000, balancer.PendingWaiters);
        Assert.All(abandoned, task => Assert.True(task.IsCanceled));

        balancer.Update(TestEndpoints.Sequential(4));
        EndpointSetView[] views = await Task.WhenAll(waits).WaitAsync(Limit);

        Assert.All(views, view => Assert.Equal(1, view.Version));
        Assert.Equal(0, balancer.PendingWaiters);
    }

    [Fact]
    public async Task WaitForEndpointsAsync_ContinuationBlocks_PublisherIsNotHeldUp()
    {
        using LoadBalancer balancer = new RoundRobinBalancer(new LoadBalancerOptions());
        using ManualResetEventSlim release = new();
        Task blocked = balancer.WaitForEndpointsAsync().AsTask().ContinueWith(_ => release.Wait(Limit), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        // Continuations run asynchronously: Update returns while the waiter's continuation is still blocked.
        Assert.True(balancer.Update(TestEndpoints.Sequential(2)));
        Assert.False(blocked.IsCompleted);
        release.Set();
        await blocked.WaitAsync(Limit);
    }

    [Fact]
    public async Task Dispose_WithPendingWaits_FaultsThemAndRefusesLaterWaitsAndUpdates()
    {
        LoadBalancer balancer = new ConsistentHashBalancer(new ConsistentHashOptions());
        ValueTask<EndpointSetView> endpoints = balancer.WaitForEndpointsAsync();
        ValueTask<EndpointSetView> change = balancer.WaitForChangeAsync(0);

        balancer.Dispose();
        balancer.Dispose(); // twice: nothing more happens

        ObjectDisposedException disposed = await Assert.ThrowsAsync<ObjectDisposedException>(() => endpoints.AsTask().WaitAsync(Limit));
        Assert.Contains("disposed", disposed.Message, StringComparison.Ordinal);
        Assert.Contains("no wait for endpoints", disposed.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => change.AsTask().WaitAsync(Limit));
        Assert.Equal(0, balancer.PendingWaiters);

        await Assert.ThrowsAsync<ObjectDisposedException>(() => balancer.WaitForEndpointsAsync().AsTask());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => balancer.WaitForChangeAsync(-1).AsTask());
        Assert.Throws<ObjectDisposedException>(() => balancer.Update(TestEndpoints.Sequential(1)));
        Assert.Throws<ObjectDisposedException>(() => balancer.Add(TestEndpoints.Sequential(1)));
        Assert.Throws<ObjectDisposedException>(() => balancer.Remove(TestEndpoints.Sequential(1)));
    }

    [Fact]
    public void Dispose_AfterEndpoints_PicksAndLeasesKeepWorkingOnTheLastSet()
    {
        LoadBalancer balancer = new ConsistentHashBalancer(new ConsistentHashOptions { LoadFactor = 1.25 });
        balancer.Update(TestEndpoints.Sequential(3));
        EndpointLease held = balancer.Acquire("before");

        balancer.Dispose();

        Assert.Contains(balancer.Pick("k"), balancer.Endpoints);
        using (EndpointLease lease = balancer.Acquire("after"))
        {
            Assert.Contains(lease.Endpoint, balancer.Endpoints);
        }

        held.Dispose();
        Assert.All(balancer.GetStatus(), status => Assert.Equal(0, status.InFlight));
    }

    [Fact]
    public async Task WaitForChangeAsync_RacingPublishesAndCancellations_EveryWaitEndsAndNoneIsLeft()
    {
        using LoadBalancer balancer = new RoundRobinBalancer(new LoadBalancerOptions());
        Endpoint[][] sets = [TestEndpoints.Sequential(1), TestEndpoints.Sequential(2)];
        using CancellationTokenSource stop = new(Limit);
        Task writer = Task.Run(() =>
        {
            for (int i = 0; i < 2000 && !stop.IsCancellationRequested; i++)
            {
                balancer.Update(sets[i % 2]);
            }
        });

        List<Task> waits = [];
        for (int i = 0; i < 2000; i++)
        {
            using CancellationTokenSource cancel = new();
            Task<EndpointSetView> wait = balancer.WaitForChangeAsync(balancer.Version, cancel.Token).AsTask();
            if (i % 2 == 0)
            {
                await cancel.CancelAsync();
            }

            waits.Add(wait.ContinueWith(static _ => { }, TaskScheduler.Default));
        }

        await writer.WaitAsync(Limit);
        balancer.Update([]); // completes every wait still pending
        await Task.WhenAll(waits).WaitAsync(Limit);
        Assert.Equal(0, balancer.PendingWaiters);
    }
}
