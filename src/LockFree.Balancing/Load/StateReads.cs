using System.Runtime.CompilerServices;

namespace LockFree.Balancing.Load;

/// <summary>
/// Test instrumentation: counts the endpoint states that bounded placements read on the current thread, so that
/// tests can assert how much work a placement does (O(1), one pass) by operation count rather than by time.
/// </summary>
/// <remarks>
/// Off unless the runtime switch <see cref="SwitchName"/> is set (the test project sets it in its runtimeconfig;
/// nothing else does). <see cref="Enabled"/> is a <see langword="static readonly"/> field, which the JIT folds into a
/// constant once the type is initialized, so with the switch off the counting calls compile to nothing.
/// </remarks>
internal static class StateReads
{
    /// <summary>The AppContext switch that turns counting on.</summary>
    public const string SwitchName = "LockFree.Balancing.Testing.CountStateReads";

    /// <summary>True when counting is on for this process.</summary>
    public static readonly bool Enabled = AppContext.TryGetSwitch(SwitchName, out bool enabled) && enabled;

    [ThreadStatic]
    private static long t_count;

    /// <summary>The states read on this thread since it started (0 when counting is off).</summary>
    public static long Count => t_count;

    /// <summary>Counts <paramref name="states"/> reads, when counting is on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(int states = 1)
    {
        if (Enabled)
        {
            t_count += states;
        }
    }
}
