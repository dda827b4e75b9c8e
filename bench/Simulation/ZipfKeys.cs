using System.Globalization;

namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>
/// User ids <c>user-1</c> … <c>user-K</c> drawn with Zipf probabilities (rank r ∝ 1/r^s): a few users send most
/// of the requests, as real traffic does, which is what makes plain consistent hashing overload a pod.
/// </summary>
internal sealed class ZipfKeys
{
    private readonly double[] _cumulative;

    public ZipfKeys(int count, double exponent)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(exponent);
        Keys = new string[count];
        _cumulative = new double[count];
        double sum = 0;
        for (int rank = 1; rank <= count; rank++)
        {
            sum += 1.0 / Math.Pow(rank, exponent);
            _cumulative[rank - 1] = sum;
            Keys[rank - 1] = "user-" + rank.ToString(CultureInfo.InvariantCulture);
        }

        for (int i = 0; i < count; i++)
        {
            _cumulative[i] /= sum;
        }

        TopShare = _cumulative[0];
    }

    /// <summary>Every key, most frequent first.</summary>
    public string[] Keys { get; }

    /// <summary>The probability of the most frequent key.</summary>
    public double TopShare { get; }

    /// <summary>Draws one key.</summary>
    public string Next(Random random)
    {
        int index = Array.BinarySearch(_cumulative, random.NextDouble());
        return Keys[Math.Min(index < 0 ? ~index : index, Keys.Length - 1)];
    }
}
