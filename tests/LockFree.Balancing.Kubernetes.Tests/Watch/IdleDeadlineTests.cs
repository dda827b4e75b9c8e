using LockFree.Balancing.Kubernetes.Watch;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace LockFree.Balancing.Kubernetes.Tests.Watch;

/// <summary>
/// The watch's read-idle deadline: a silent stream is cut after the timeout, bytes postpone it, and a check that ran
/// late (the process was stalled) looks once more before it cuts, so that bytes queued behind the stall count.
/// </summary>
public sealed class IdleDeadlineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(4);

    [Fact]
    public void SilentStream_ExpiresAtTheTimeout()
    {
        var time = new FakeTimeProvider();
        using var deadline = new IdleDeadline(time, Timeout);
        deadline.Start();

        time.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        Assert.False(deadline.Expired);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(deadline.Expired);
        Assert.True(deadline.Token.IsCancellationRequested);
    }

    [Fact]
    public void BytesArriving_PostponeTheDeadline_ByTheWholeTimeout()
    {
        var time = new FakeTimeProvider();
        using var deadline = new IdleDeadline(time, Timeout);
        deadline.Start();

        for (int i = 0; i < 10; i++)
        {
            time.Advance(TimeSpan.FromSeconds(3));
            deadline.Touch();
        }

        time.Advance(TimeSpan.FromSeconds(3.999));
        Assert.False(deadline.Expired);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(deadline.Expired);
    }

    [Fact]
    public void NotStarted_NeverExpires()
    {
        var time = new FakeTimeProvider();
        using var deadline = new IdleDeadline(time, Timeout);

        time.Advance(Timeout * 10);

        Assert.False(deadline.Expired);
    }

    [Fact]
    public void LateCheck_SeesBytesThatArriveDuringItsSecondLook()
    {
        var time = new FakeTimeProvider();
        using var deadline = new IdleDeadline(time, Timeout);
        deadline.Start();

        // The process stalls past the deadline: the check runs 2 s late and looks once more instead of cutting.
        time.Advance(Timeout + TimeSpan.FromSeconds(2));
        Assert.False(deadline.Expired);

        // The bytes that waited behind the stall are read; the second look finds the stream alive.
        deadline.Touch();
        time.Advance(Timeout / 4);
        Assert.False(deadline.Expired);

        // And the deadline runs from those bytes again.
        time.Advance(Timeout - (Timeout / 4) - TimeSpan.FromMilliseconds(1));
        Assert.False(deadline.Expired);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(deadline.Expired);
    }

    [Fact]
    public void LateCheck_OnASilentStream_CutsItAQuarterOfTheTimeoutLater()
    {
        var time = new FakeTimeProvider();
        using var deadline = new IdleDeadline(time, Timeout);
        deadline.Start();

        time.Advance(Timeout + TimeSpan.FromSeconds(2));
        Assert.False(deadline.Expired);
        time.Advance(Timeout / 4);

        Assert.True(deadline.Expired);
    }

    [Fact]
    public void SecondLook_IsGivenOncePerSilence()
    {
        var time = new FakeTimeProvider();
        using var deadline = new IdleDeadline(time, Timeout);
        deadline.Start();

        time.Advance(Timeout + TimeSpan.FromSeconds(2)); // late: second look
        time.Advance(Timeout / 4 + TimeSpan.FromSeconds(2)); // late again, still silent: no third look

        Assert.True(deadline.Expired);
    }

    [Fact]
    public void Disposed_TwiceAndFromTwoThreads_AndThenTouched_DoesNotThrow()
    {
        var time = new FakeTimeProvider();
        var deadline = new IdleDeadline(time, Timeout);
        deadline.Start();

        Parallel.For(0, 4, _ => deadline.Dispose());
        deadline.Dispose();
        deadline.Touch();
        time.Advance(Timeout * 2);

        Assert.False(deadline.Expired);
    }

    [Fact]
    public void CallbackThatThrows_OnExpiry_StaysInsideTheTimer()
    {
        var time = new FakeTimeProvider();
        using var deadline = new IdleDeadline(time, Timeout);
        using CancellationTokenRegistration registration = deadline.Token.Register(() => throw new InvalidOperationException("a registration failed"));
        deadline.Start();

        time.Advance(Timeout);

        Assert.True(deadline.Expired);
    }

    [Fact]
    public void ZeroTimeout_IsRefused()
        => Assert.Throws<ArgumentOutOfRangeException>(() => new IdleDeadline(new FakeTimeProvider(), TimeSpan.Zero));
}
