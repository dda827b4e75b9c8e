namespace LockFree.Balancing.Randomness;

/// <summary>
/// Vose's alias method: picks index i with probability weight_i / W in O(1) from one random value.
/// </summary>
/// <remarks>
/// Built once per snapshot (O(n)); immutable afterwards. Probabilities are kept as 32-bit thresholds,
/// so the draw is exact up to 2^-32.
/// </remarks>
internal sealed class AliasTable
{
    public static readonly AliasTable Empty = new([], [], []);

    private readonly int[] _indexes;
    private readonly uint[] _thresholds;
    private readonly int[] _aliases;

    private AliasTable(int[] indexes, uint[] thresholds, int[] aliases)
    {
        _indexes = indexes;
        _thresholds = thresholds;
        _aliases = aliases;
    }

    /// <summary>Number of candidates.</summary>
    public int Count => _indexes.Length;

    /// <summary>A table over <paramref name="indexes"/> with <paramref name="weights"/> (all above 0).</summary>
    public static AliasTable Build(int[] indexes, ReadOnlySpan<int> weights)
    {
        int n = indexes.Length;
        if (n == 0)
        {
            return Empty;
        }

        long total = 0;
        foreach (int weight in weights)
        {
            total += weight;
        }

        // Scaled probabilities p_i · n in units of 1/total, kept exact as integers.
        long[] scaled = new long[n];
        Stack<int> small = new();
        Stack<int> large = new();
        for (int i = 0; i < n; i++)
        {
            scaled[i] = (long)weights[i] * n;
            (scaled[i] < total ? small : large).Push(i);
        }

        uint[] thresholds = new uint[n];
        int[] aliases = new int[n];
        while (small.Count > 0 && large.Count > 0)
        {
            int less = small.Pop();
            int more = large.Pop();
            thresholds[less] = (uint)((UInt128)scaled[less] * uint.MaxValue / (ulong)total);
            aliases[less] = more;
            scaled[more] -= total - scaled[less];
            (scaled[more] < total ? small : large).Push(more);
        }

        // Whatever remains has probability 1 of keeping its own column.
        foreach (int i in large.Concat(small))
        {
            thresholds[i] = uint.MaxValue;
            aliases[i] = i;
        }

        return new AliasTable(indexes, thresholds, aliases);
    }

    /// <summary>A candidate drawn from one random value. The table must not be empty.</summary>
    public int Draw(ulong random)
    {
        // High 32 bits choose the column (multiply-shift range reduction), low 32 bits the coin.
        int column = (int)(((random >> 32) * (ulong)(uint)_indexes.Length) >> 32);
        return _indexes[(uint)random < _thresholds[column] ? column : _aliases[column]];
    }
}
