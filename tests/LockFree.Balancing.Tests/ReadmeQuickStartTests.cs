using Xunit;

namespace LockFree.Balancing.Tests;

/// <summary>
/// The README's quick start is this method's body, compiled and run here; the test fails when the
/// README's copy drifts from it.
/// </summary>
public sealed class ReadmeQuickStartTests
{
    [Fact]
    public void QuickStart_RunsAndMatchesReadme()
    {
        List<Uri> sent = [];
        void Send(Uri target) => sent.Add(target);

        // <quick-start>
        var balancer = new ConsistentHashBalancer(new ConsistentHashOptions { LoadFactor = 1.25 });
        balancer.Update([Endpoint.Parse("10.0.0.7:8080"), Endpoint.Parse("10.0.0.8:8080"), new Endpoint("fd00::9", 8080, weight: 2)]);

        // On every request: place it by key, send it, release it when the response is done.
        using (EndpointLease lease = balancer.Acquire("user-42"))
        {
            Send(new Uri($"http://{lease.Endpoint.Key}/orders"));
        }

        // The watch (or your own discovery) replaces the set at any time; picks never wait for it.
        balancer.Update([Endpoint.Parse("10.0.0.7:8080"), Endpoint.Parse("10.0.0.8:8080")]);
        // </quick-start>

        Assert.Single(sent);
        Assert.Equal(2, balancer.Endpoints.Count);
        Assert.Contains(QuickStartText(), File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md")).ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    private static string QuickStartText([System.Runtime.CompilerServices.CallerFilePath] string path = "")
    {
        string[] lines = File.ReadAllLines(path);
        int start = Array.FindIndex(lines, l => l.Trim() == "// <quick-start>") + 1;
        int end = Array.FindIndex(lines, l => l.Trim() == "// </quick-start>");
        int indent = lines[start].Length - lines[start].TrimStart().Length;
        return string.Join('\n', lines[start..end].Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
    }

    private static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string path = "")
        => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", ".."));
}
