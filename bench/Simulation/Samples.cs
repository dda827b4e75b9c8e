namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// A fixed-capacity buffer of measurements (any unit) that many threads append to without a lock; percentiles
/// are exact over what was kept. Once full it keeps counting but stops storing, and says so.
/// </summary>
internal sealed class Samples
{
    private readonly long[] _values;
    private long _count;

    public Samples(int capacity) => _values = new long[capacity];

    /// <summary>Values offered, stored or not.</summary>
    public long Count => Interlocked.Read(ref _count);

    public void Add(long value)
    {
        long index = Interlocked.Increment(ref _count) - 1;
        if (index < _values.Length)
        {
            _values[index] = value;
        }
    }

    /// <summary>The stored values, sorted (a copy).</summary>
    public long[] Sorted()
    {
        long[] copy = _values[..(int)Math.Min(Count, _values.Length)];
        Array.Sort(copy);
        return copy;
    }

    /// <summary>The value at quantile <paramref name="q"/> (0–1) of sorted values (nearest rank), or NaN when empty.</summary>
    public static double Quantile(long[] sorted, double q)
        => sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
}
