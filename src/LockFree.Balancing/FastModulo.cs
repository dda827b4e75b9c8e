using System.Runtime.CompilerServices;

namespace LockFree.Balancing;

/// <summary>
/// <c>value % divisor</c> without a division, for a divisor fixed per snapshot (Lemire, Kaser, Kurz,
/// "Faster Remainder by Direct Computation", 2019; the runtime's HashHelpers.FastMod). Exact for
/// 32-bit values and divisors below 2^31.
/// </summary>
internal static class FastModulo
{
    /// <summary>The multiplier for <paramref name="divisor"/> (0 for an empty range).</summary>
    public static ulong Multiplier(int divisor) => divisor == 0 ? 0 : (ulong.MaxValue / (uint)divisor) + 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Reduce(uint value, int divisor, ulong multiplier)
        => (int)(((((multiplier * value) >> 32) + 1) * (uint)divisor) >> 32);
}
