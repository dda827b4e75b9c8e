using System.Runtime.InteropServices;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// CPU time consumed by the calling thread (Linux <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>), for
/// <see cref="ConcurrencyInterleaved"/>: on a shared machine the wall time of a multi-threaded batch measures
/// how much CPU the scheduler lent, while the CPU time per pick measures the pick, cache-line transfers included.
/// </summary>
internal static class ThreadCpuTime
{
    private const int ClockThreadCpuTimeId = 3;

    /// <summary>Whether the clock is available (Linux); elsewhere <see cref="NowNanoseconds"/> returns 0.</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux();

    /// <summary>The calling thread's CPU time in nanoseconds, or 0 when not supported.</summary>
    public static long NowNanoseconds()
    {
        if (!IsSupported)
        {
            return 0;
        }

        _ = NativeMethods.clock_gettime(ClockThreadCpuTimeId, out TimeSpec time);
        return (time.Seconds * 1_000_000_000) + time.Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054, CA5392, CA1401, IDE1006 // a plain libc call, bench only
        [DllImport("libc", SetLastError = false)]
        public static extern int clock_gettime(int clockId, out TimeSpec time);
#pragma warning restore SYSLIB1054, CA5392, CA1401, IDE1006
    }
}
