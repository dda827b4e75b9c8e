namespace LockFree.Balancing.Scheduling;

/// <summary>
/// An interleaved weighted round-robin cycle: endpoint i appears exactly w_i / g times in a cycle of
/// Σw / g turns (g = gcd of the weights), spread evenly, so a pick stays one counter step and a lookup.
/// </summary>
/// <remarks>
/// Turn k (0-based) of an endpoint with reduced weight w is due at virtual time (2k + 1) / (2w); the
/// cycle lists all turns in order of due time, ties by endpoint index (ordinal key order). This is
/// stride scheduling: weight-3 A beside weight-1 B and C gives A A B C A (due 1/6, 1/2, 1/2, 1/2, 5/6),
/// each endpoint's turns spread evenly over the cycle rather than A A A B C.
/// With equal weights the cycle is simply the endpoints in key order.
/// </remarks>
internal static class WeightedSchedule
{
    /// <summary>The longest accepted cycle; 4 bytes per turn.</summary>
    public const int MaxCycleLength = 1 << 22;

    /// <summary>Builds the cycle over <paramref name="indexes"/> with the endpoints' weights.</summary>
    /// <exception cref="ArgumentException">The reduced weights sum to more than <see cref="MaxCycleLength"/>.</exception>
    public static int[] Build(int[] indexes, ReadOnlySpan<int> weights)
    {
        if (indexes.Length == 0)
        {
            return [];
        }

        int divisor = 0;
        foreach (int weight in weights)
        {
            divisor = Gcd(divisor, weight);
        }

        long length = 0;
        foreach (int weight in weights)
        {
            length += weight / divisor;
        }

        if (length > MaxCycleLength)
        {
            throw new ArgumentException(
                $"Weighted round robin would need a cycle of {length} turns (the sum of the weights divided by their greatest common divisor); at most {MaxCycleLength} are accepted. Use smaller or more uniform weights.");
        }

        if (length == indexes.Length)
        {
            return [.. indexes];
        }

        (long Numerator, long Denominator, int Position)[] turns = new (long, long, int)[length];
        int next = 0;
        for (int position = 0; position < indexes.Length; position++)
        {
            int reduced = weights[position] / divisor;
            for (int k = 0; k < reduced; k++)
            {
                turns[next++] = ((2L * k) + 1, 2L * reduced, position);
            }
        }

        // Exact comparison of due times a/b and c/d by cross-multiplying; the products stay below 2^45.
        Array.Sort(turns, static (x, y) =>
        {
            int byTime = (x.Numerator * y.Denominator).CompareTo(y.Numerator * x.Denominator);
            return byTime != 0 ? byTime : x.Position.CompareTo(y.Position);
        });

        int[] cycle = new int[length];
        for (int i = 0; i < turns.Length; i++)
        {
            cycle[i] = indexes[turns[i].Position];
        }

        return cycle;
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
