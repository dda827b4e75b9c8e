using System.Globalization;
using System.Text;
using Xunit;

namespace LockFree.Balancing.Tests.Golden;

/// <summary>
/// A fixed endpoint set and 1,000 keys map to committed endpoints, so any change of placement across
/// versions (hash, replica derivation, tie-breaking, lookup) fails here. A deliberate change regenerates
/// the file with <c>LOCKFREE_REGENERATE_GOLDEN=1 dotnet test --filter GoldenPlacementTests</c> and says
/// so in its commit message, because every deployed client moves keys with it.
/// </summary>
public sealed class GoldenPlacementTests
{
    private static readonly Endpoint[] GoldenSet =
    [
        .. Enumerable.Range(1, 8).Select(i => new Endpoint($"10.0.0.{i}", 8080)),
        new Endpoint("fd00::7", 8080),
        new Endpoint("web-0.web.default.svc.cluster.local", 8080),
        new Endpoint("10.0.1.1", 8080, weight: 2),
        new Endpoint("10.0.1.2", 8080, weight: 0),
    ];

    [Theory]
    [InlineData("consistent-hash-v160.txt")]
    [InlineData("maglev-65537.txt")]
    public void Pick_GoldenKeys_MatchCommittedPlacements(string fileName)
    {
        LoadBalancer balancer = fileName.StartsWith("maglev", StringComparison.Ordinal) ? new MaglevBalancer() : new ConsistentHashBalancer();
        balancer.Update(GoldenSet);
        string actual = Render(balancer, fileName);
        string path = Path.Combine(SourceDirectory(), fileName);

        if (Environment.GetEnvironmentVariable("LOCKFREE_REGENERATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual);
        }

        Assert.True(File.Exists(path), $"{path} is missing; regenerate it with LOCKFREE_REGENERATE_GOLDEN=1.");
        string expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        string[] expectedLines = expected.Split('\n');
        string[] actualLines = actual.Split('\n');
        int firstDifference = Enumerable.Range(0, Math.Min(expectedLines.Length, actualLines.Length)).FirstOrDefault(i => expectedLines[i] != actualLines[i], -1);
        Assert.True(
            expected == actual,
            $"placement changed; first difference at line {firstDifference + 1}: expected '{(firstDifference >= 0 ? expectedLines[firstDifference] : "")}', got '{(firstDifference >= 0 ? actualLines[firstDifference] : "")}'");
    }

    private static string Render(LoadBalancer balancer, string fileName)
    {
        StringBuilder text = new();
        text.Append(fileName.StartsWith("maglev", StringComparison.Ordinal)
            ? "# key -> endpoint, MaglevBalancer M=65537, XXH3-64 seed 0. See GoldenPlacementTests.\n"
            : "# key -> endpoint, ConsistentHashBalancer V=160, XXH3-64 seed 0. See GoldenPlacementTests.\n");
        for (int i = 0; i < 1000; i++)
        {
            string key = string.Create(CultureInfo.InvariantCulture, $"key-{i}");
            text.Append(key).Append(' ').Append(balancer.Pick(key).Key).Append('\n');
        }

        return text.ToString();
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "")
        => Path.GetDirectoryName(path)!;
}
