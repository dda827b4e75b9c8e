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
        var clock = new ManualClock();
        using var deadline = new IdleDeadline(clock, Timeout);
        deadline.Start();

        // The process stalls past the deadline: the check runs 2 s late and looks once more instead of cutting.
        clock.RunCheck(late: TimeSpan.FromSeconds(2));
        Assert.False(deadline.Expired);
        Assert.Equal(Timeout / 4, clock.Timer!.DueIn);

        // The bytes that waited behind the stall are read; the second look, on time, finds the stream alive.
        deadline.Touch();
        clock.RunCheck(late: TimeSpan.Zero);
        Assert.False(deadline.Expired);

        // And the deadline runs from those bytes again: on time, silent for the whole timeout, cut.
        Assert.Equal(Timeout - (Timeout / 4), clock.Timer!.DueIn);
        clock.RunCheck(late: TimeSpan.Zero);
        Assert.True(deadline.Expired);
    }

    [Fact]
    public void LateCheck_OnASilentStream_CutsItAQuarterOfTheTimeoutLater()
    {
        var clock = new ManualClock();
        using var deadline = new IdleDeadline(clock, Timeout);
        deadline.Start();

        clock.RunCheck(late: TimeSpan.FromSeconds(2));
        Assert.False(deadline.Expired);
        clock.RunCheck(late: TimeSpan.Zero);

        Assert.True(deadline.Expired);
    }

    [Fact]
    public void CheckLateByAQuarterOrLess_CutsAtOnce()
    {
        var clock = new ManualClock();
        using var deadline = new IdleDeadline(clock, Timeout);
        deadline.Start();

        clock.RunCheck(late: Timeout / 4);

        Assert.True(deadline.Expired);
    }

    [Fact]
    public void SecondLook_IsGivenOncePerSilence()
    {
        var clock = new ManualClock();
        using var deadline = new IdleDeadline(clock, Timeout);
        deadline.Start();

        clock.RunCheck(late: TimeSpan.FromSeconds(2)); // late: second look
        clock.RunCheck(late: TimeSpan.FromSeconds(2)); // late again, still silent: no third look

        Assert.True(deadline.Expired);
    }

    [Fact]
    public void SecondLook_IsGivenAgain_AfterTheStreamSpoke()
    {
        var clock = new ManualClock();
        using var deadline = new IdleDeadline(clock, Timeout);
        deadline.Start();

        // A first stall, then bytes: the stream is alive and the check re-arms from them.
        clock.RunCheck(late: TimeSpan.FromSeconds(2));
        deadline.Touch();
        clock.RunCheck(late: TimeSpan.Zero);

        // A second stall later on: it gets its own second look.
        clock.RunCheck(late: TimeSpan.FromSeconds(2));
        Assert.False(deadline.Expired);
        clock.RunCheck(late: TimeSpan.Zero);
        Assert.True(deadline.Expired);
    }

    [Fact]
    public void CheckAlreadyQueued_WhenDisposed_DoesNothing()
    {
        // A system timer's callback can be queued on the thread pool when the watch ends and disposes the deadline.
        var clock = new ManualClock();
        var deadline = new IdleDeadline(clock, Timeout);
        deadline.Start();
        deadline.Dispose();

        clock.RunCheck(late: TimeSpan.Zero); // on time: it would cut the stream, but the deadline is gone

        Assert.True(clock.Timer!.Disposed);
    }

    [Fact]
    public void Disposed_TwiceAndFromFourThreads_AndThenTouched_DoesNotThrow()
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
    public void Disposed_ByItsOwnExpiry_DoesNotThrow()
    {
        var time = new FakeTimeProvider();
        var deadline = new IdleDeadline(time, Timeout);
        using CancellationTokenRegistration registration = deadline.Token.Register(deadline.Dispose);
        deadline.Start();

        time.Advance(Timeout);
        time.Advance(Timeout);

        deadline.Dispose();
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

    /// <summary>
    /// A clock whose one timer fires only when the test says, at a lateness the test chooses (FakeTimeProvider's
    /// <c>Advance</c> decides for itself at which time a due timer's callback sees the clock).
    /// </summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public ManualTimer? Timer { get; private set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
            => Timer = new ManualTimer(this, callback, state, dueTime);

        /// <summary>Moves the clock to the timer's due time plus <paramref name="late"/>, then runs its callback (even after its disposal, as a callback already queued would run).</summary>
        public void RunCheck(TimeSpan late)
        {
            ManualTimer timer = Timer ?? throw new InvalidOperationException("no timer");
            _ticks = (timer.DueAt ?? _ticks) + late.Ticks;
            timer.Fire();
        }

        internal long Now => _ticks;
    }

    private sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state, TimeSpan dueTime) : ITimer
    {
        public long? DueAt { get; private set; } = dueTime == System.Threading.Timeout.InfiniteTimeSpan ? null : clock.Now + dueTime.Ticks;

        public TimeSpan? DueIn => DueAt is long due ? TimeSpan.FromTicks(due - clock.Now) : null;

        public bool Disposed { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            DueAt = dueTime == System.Threading.Timeout.InfiniteTimeSpan ? null : clock.Now + dueTime.Ticks;
            return !Disposed;
        }

        public void Fire()
        {
            DueAt = null;
            callback(state);
        }

        public void Dispose() => Disposed = true;

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
