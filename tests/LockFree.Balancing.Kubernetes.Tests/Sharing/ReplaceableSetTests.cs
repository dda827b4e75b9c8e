using LockFree.Balancing.Kubernetes.Sharing;
using Microsoft.Extensions.Primitives;
using Xunit;

namespace LockFree.Balancing.Kubernetes.Tests.Sharing;

/// <summary>
/// The set + change token pair the YARP destination resolver and the ServiceDiscovery provider publish: a token fires
/// only when its own set is replaced, a registration made after that fires at once, and a throwing or slow callback
/// never reaches the thread that replaced the set (the shared watch's delivery).
/// </summary>
public sealed class ReplaceableSetTests
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    [Fact]
    public void Constructor_KeepsTheArrayAsIs_AndTheTokenHasNotChanged()
    {
        Endpoint[] endpoints = [new("10.0.0.1", 8080), new("10.0.0.2", 8080)];

        var set = new ReplaceableSet<Endpoint>(endpoints);

        Assert.Same(endpoints, set.Items);
        Assert.False(set.ChangeToken.HasChanged);
        Assert.True(set.ChangeToken.ActiveChangeCallbacks);
    }

    [Fact]
    public void Constructor_NullItems_Throws()
        => Assert.Throws<ArgumentNullException>("items", () => new ReplaceableSet<string>(null!));

    [Fact]
    public async Task MarkReplaced_FiresThisTokenOnly_AndALateRegistrationStillRuns()
    {
        var first = new ReplaceableSet<int>([1]);
        var second = new ReplaceableSet<int>([1, 2]);
        var early = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable earlyRegistration = first.ChangeToken.RegisterChangeCallback(static s => ((TaskCompletionSource)s!).TrySetResult(), early);

        first.MarkReplaced();

        Assert.True(first.ChangeToken.HasChanged); // true before MarkReplaced returns: a reader that checks sees it
        Assert.False(second.ChangeToken.HasChanged);
        await early.Task.WaitAsync(WaitLimit);

        // A reader that got the old set and registers after it was replaced is called back at once (the race the pair closes).
        var late = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable lateRegistration = first.ChangeToken.RegisterChangeCallback(static s => ((TaskCompletionSource)s!).TrySetResult(), late);
        await late.Task.WaitAsync(WaitLimit);
    }

    [Fact]
    public async Task MarkReplaced_TwiceOrWithAThrowingCallback_NeitherThrowsNorRunsTheCallbackAgain()
    {
        var set = new ReplaceableSet<string>(["a"]);
        int calls = 0;
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable throwing = set.ChangeToken.RegisterChangeCallback(_ =>
        {
            Interlocked.Increment(ref calls);
            ran.TrySetResult();
            throw new InvalidOperationException("a consumer's callback failed");
        }, null);

        set.MarkReplaced();
        set.MarkReplaced();

        await ran.Task.WaitAsync(WaitLimit);
        Assert.Equal(1, Volatile.Read(ref calls));
        Assert.True(set.ChangeToken.HasChanged);
    }

    [Fact]
    public async Task MarkReplaced_CallbackBlocks_ReturnsWithoutWaitingForIt()
    {
        var set = new ReplaceableSet<string>(["a"]);
        using var release = new ManualResetEventSlim();
        var released = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable blocking = set.ChangeToken.RegisterChangeCallback(_ => released.TrySetResult(release.Wait(WaitLimit)), null);

        // Were the callback run on this thread, it would wait for a release that comes only after this call returns,
        // time out and report false.
        set.MarkReplaced();
        release.Set();

        Assert.True(await released.Task.WaitAsync(WaitLimit));
        Assert.True(set.ChangeToken is CancellationChangeToken { HasChanged: true });
    }
}
