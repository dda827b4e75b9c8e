using System.Diagnostics;
using System.Globalization;
using LockFree.Balancing.Hashing;
using LockFree.Balancing.Ring;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// <c>--ring-interleaved</c>: the ring lookups of <see cref="RingLookupBenchmarks"/> timed in interleaved rounds
/// (every variant at every N once per round, many rounds), for a shared machine whose background load drifts
/// over minutes: BenchmarkDotNet measures one case after another, so a load change between two cases shows
/// up as a difference between them; here every round sees the same load for every variant, and the medians
/// over rounds compare like with like. Prints medians in ns per lookup (hash included) and the ratios.
/// </summary>
internal static class RingLookupInterleaved
{
    private const int Rounds = 1001;
    // Short blocks (~0.2 ms): on a loaded machine most of them run without being preempted, so the median is not a preempted block.
    private const int LookupsPerBlock = 1 << 13;

    public static int Run(TextWriter output)
    {
        int[] sizes = [10, 100, 1000];
        byte[][] keys = KeyPool.Create();
        (string Name, Func<int, long>[] Lookups)[] variants = new (string, Func<int, long>[])[3];
        Func<int, long>[] ringLookup = new Func<int, long>[sizes.Length];
        Func<int, long>[] pick = new Func<int, long>[sizes.Length];
        Func<int, long>[] maglev = new Func<int, long>[sizes.Length];
        for (int s = 0; s < sizes.Length; s++)
        {
            Endpoint[] endpoints = TestCluster.Endpoints(sizes[s]);
            ConsistentHashBalancer plain = TestCluster.Plain(endpoints);
            HashRing ring = plain.CurrentRing;
            MaglevBalancer maglevBalancer = new();
            maglevBalancer.Update(endpoints);
            ringLookup[s] = count =>
            {
                long folded = 0;
                for (int i = 0; i < count; i++)
                {
                    folded += ring.OwnerOf(HashRing.PointOf(KeyHasher.Hash(keys[i & KeyPool.Mask])));
                }

                return folded;
            };
            pick[s] = count =>
            {
                long folded = 0;
                for (int i = 0; i < count; i++)
                {
                    plain.TryPick(keys[i & KeyPool.Mask], out Endpoint? picked);
                    folded += picked!.Port;
                }

                return folded;
            };
            maglev[s] = count =>
            {
                long folded = 0;
                for (int i = 0; i < count; i++)
                {
                    maglevBalancer.TryPick(keys[i & KeyPool.Mask], out Endpoint? picked);
                    folded += picked!.Port;
                }

                return folded;
            };
        }

        variants[0] = ("HashRing", ringLookup);
        variants[1] = ("ConsistentHashPick", pick);
        variants[2] = ("MaglevPick", maglev);

        double[,,] samples = new double[variants.Length, sizes.Length, Rounds];
        long sink = 0;
        for (int round = -3; round < Rounds; round++) // 3 warm-up rounds (JIT tiers, caches)
        {
            for (int v = 0; v < variants.Length; v++)
            {
                for (int s = 0; s < sizes.Length; s++)
                {
                    Func<int, long> lookup = variants[v].Lookups[s];
                    sink += lookup(KeyPool.Size); // warm this structure's lines after the others ran
                    long started = Stopwatch.GetTimestamp();
                    sink += lookup(LookupsPerBlock);
                    double ns = Stopwatch.GetElapsedTime(started).TotalNanoseconds / LookupsPerBlock;
                    if (round >= 0)
                    {
                        samples[v, s, round] = ns;
                    }
                }
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ring lookups, interleaved: median of {Rounds} rounds x {LookupsPerBlock} lookups, ns per lookup (key hash included); sink {sink & 1}"));
        output.WriteLine("| Variant | N = 10 | N = 100 | N = 1000 | N = 1000 / N = 10 |");
        output.WriteLine("|---|---|---|---|---|");
        for (int v = 0; v < variants.Length; v++)
        {
            double[] medians = [.. Enumerable.Range(0, sizes.Length).Select(s => Median(samples, v, s))];
            double[] baseline = [.. Enumerable.Range(0, sizes.Length).Select(s => Median(samples, 0, s))];
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {variants[v].Name} | {medians[0]:F2} ({medians[0] / baseline[0]:F2}) | {medians[1]:F2} ({medians[1] / baseline[1]:F2}) | {medians[2]:F2} ({medians[2] / baseline[2]:F2}) | {medians[2] / medians[0]:F2}x |"));
        }

        return 0;
    }

    private static double Median(double[,,] samples, int variant, int size)
    {
        double[] values = new double[samples.GetLength(2)];
        for (int round = 0; round < values.Length; round++)
        {
            values[round] = samples[variant, size, round];
        }

        Array.Sort(values);
        return values[values.Length / 2];
    }
}
