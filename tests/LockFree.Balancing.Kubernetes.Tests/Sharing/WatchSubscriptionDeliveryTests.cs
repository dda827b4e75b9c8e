using LockFree.Balancing.Kubernetes.Sharing;
using Xunit;

namespace LockFree.Balancing.Kubernetes.Tests.Sharing;

/// <summary>
/// A subscription's callback runs under no lock of ours. grpc-dotnet's resolver listener takes the channel's lock, and
/// grpc-dotnet holds that lock while it starts the resolver (which subscribes and is handed the current set): with the
/// delivery under a lock of ours, the watch's thread (in the callback, waiting for the channel's lock) and the
/// channel's thread (holding it, waiting for our lock) deadlocked. A CI-like test run hung on exactly that.
/// </summary>
public sealed class WatchSubscriptionDeliveryTests
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Deliver_WhileAnotherThreadsCallbackWaitsForALockTheCallerHolds_ReturnsAndTheSetArrivesAfter()
    {
        await using var registry = new KubernetesWatchRegistry(new KubernetesWatcherOptions(), TimeSpan.Zero);
        var watch = new SharedWatch(registry, ServiceReference.Parse("web.shop:http"));
        using var channelLock = new SemaphoreSlim(0, 1); // stands for grpc-dotnet's connection-manager lock; held by the test at first
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new List<int>();
        var subscription = new WatchSubscription(watch, endpoints =>
        {
            entered.TrySetResult();
            channelLock.Wait(WaitLimit); // the listener takes the channel's lock
            received.Add(endpoints.Count);
            channelLock.Release();
        });
        PublishedSet first = new([new Endpoint("10.0.0.1", 8080)], 1);
        PublishedSet second = new([new Endpoint("10.0.0.1", 8080), new Endpoint("10.0.0.2", 8080)], 2);

        // Step 1 – the watch's thread delivers and blocks in the callback on the lock the test holds.
        Task watchThread = Task.Factory.StartNew(() => subscription.Deliver(first), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await entered.Task.WaitAsync(WaitLimit);

        // Step 2 – the test, holding the lock, hands the current set to the same subscription (Subscribe does this).
        Task handOver = Task.Factory.StartNew(() => subscription.Deliver(second), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await handOver.WaitAsync(WaitLimit); // a delivery must not wait for another thread's callback
        Assert.Empty(received);

        // Step 3 – the lock is free: the watch's thread finishes and delivers the set left for it, in order.
        channelLock.Release();
        await watchThread.WaitAsync(WaitLimit);
        Assert.Equal([1, 2], received);
    }

    [Fact]
    public async Task Deliver_OlderOrSameVersion_IsSkipped_AndNothingAfterDispose()
    {
        await using var registry = new KubernetesWatchRegistry(new KubernetesWatcherOptions(), TimeSpan.Zero);
        var watch = new SharedWatch(registry, ServiceReference.Parse("web.shop:http"));
        var received = new List<long>();
        var subscription = new WatchSubscription(watch, endpoints => received.Add(endpoints.Count));

        subscription.Deliver(new PublishedSet([new Endpoint("10.0.0.1", 8080), new Endpoint("10.0.0.2", 8080)], 2));
        subscription.Deliver(new PublishedSet([new Endpoint("10.0.0.1", 8080)], 1)); // older: skipped
        subscription.Deliver(new PublishedSet([new Endpoint("10.0.0.1", 8080)], 2)); // same version: skipped
        subscription.Dispose();
        subscription.Dispose(); // twice: nothing
        subscription.Deliver(new PublishedSet([new Endpoint("10.0.0.3", 8080)], 3)); // after Dispose: not delivered
        Assert.Equal([2L], received);
    }
}
