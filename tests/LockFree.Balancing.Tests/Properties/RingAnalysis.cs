using LockFree.Balancing.Ring;

namespace LockFree.Balancing.Tests.Properties;

/// <summary>Exact key-space shares of a ring: every 32-bit point value belongs to exactly one endpoint.</summary>
internal static class RingAnalysis
{
    /// <summary>Each endpoint's share of the 2^32 key space, indexed like the snapshot's endpoints.</summary>
    public static double[] KeySpaceShares(HashRing ring, int endpointCount)
    {
        ReadOnlySpan<uint> points = ring.Points;
        ReadOnlySpan<int> owners = ring.Owners;
        double[] arcs = new double[endpointCount];
        for (int i = 0; i < points.Length; i++)
        {
            // The arc (previous point, this point] belongs to this point's owner; position 0 also takes the
            // wrap-around arc above the last point.
            double arc = i == 0 ? (double)points[0] + (4294967296.0 - points[^1]) : points[i] - (double)points[i - 1];
            arcs[owners[i]] += arc;
        }

        for (int i = 0; i < arcs.Length; i++)
        {
            arcs[i] /= 4294967296.0;
        }

        return arcs;
    }

    /// <summary>Peak share over the fair share 1/N (unweighted sets).</summary>
    public static double PeakToAverage(HashRing ring, int endpointCount)
        => KeySpaceShares(ring, endpointCount).Max() * endpointCount;
}
