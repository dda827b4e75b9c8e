using Xunit;

namespace LockFree.Balancing.Http.Tests;

public sealed class PodUrisTests
{
    private static readonly Endpoint PodA = Endpoint.Parse("10.0.0.1:8080");
    private static readonly Endpoint PodB = Endpoint.Parse("10.0.0.2:8080");
    private static readonly Endpoint PodV6 = new("fd00::9", 8080);

    // What the plain handler would send is the original Uri's PathAndQuery (already canonical: %7E is "~" there).
    [Theory]
    [InlineData("http://orders.shop/", "http://10.0.0.1:8080/")]
    [InlineData("http://orders.shop:8080/a/b?x=1&y=%2F", "http://10.0.0.1:8080/a/b?x=1&y=%2F")]
    [InlineData("https://orders.shop.svc.cluster.local/%7Euser/r%C3%A9sum%C3%A9?q=a%20b", "https://10.0.0.1:8080/~user/r%C3%A9sum%C3%A9?q=a%20b")]
    public void For_KeepsSchemePathAndQueryByteForByte(string original, string expected)
    {
        Uri rewritten = new PodUris().For(new Uri(original), PodA);

        Assert.Equal(expected, rewritten.OriginalString);
        Assert.Equal(new Uri(original).PathAndQuery, rewritten.PathAndQuery);
    }

    [Fact]
    public void For_IPv6Pod_IsBracketed()
    {
        Uri rewritten = new PodUris().For(new Uri("http://orders.shop/who"), PodV6);

        Assert.Equal("http://[fd00::9]:8080/who", rewritten.OriginalString);
        Assert.Equal("[fd00::9]", rewritten.Host);
        Assert.Equal(8080, rewritten.Port);
    }

    [Fact]
    public void For_SamePathAndPod_ReusesTheUri_OtherwiseMakesANewOne()
    {
        var uris = new PodUris();
        Uri first = uris.For(new Uri("http://orders.shop/who?id=1"), PodA);

        Assert.Same(first, uris.For(new Uri("http://orders.shop/who?id=1"), PodA));
        Assert.Equal("http://10.0.0.2:8080/who?id=1", uris.For(new Uri("http://orders.shop/who?id=1"), PodB).OriginalString);
        Assert.Equal("http://10.0.0.1:8080/who?id=2", uris.For(new Uri("http://orders.shop/who?id=2"), PodA).OriginalString);
        Assert.Equal("https://10.0.0.1:8080/who?id=2", uris.For(new Uri("https://orders.shop/who?id=2"), PodA).OriginalString);
        Assert.Equal(2, uris.Count); // one entry per pod, the last rewrite
    }

    [Fact]
    public void Retain_ForgetsPodsThatLeft()
    {
        var uris = new PodUris();
        uris.For(new Uri("http://orders.shop/"), PodA);
        uris.For(new Uri("http://orders.shop/"), PodB);

        uris.Retain([PodB, PodV6]);

        Assert.Equal(1, uris.Count);
        Uri again = uris.For(new Uri("http://orders.shop/"), PodB);
        Assert.Same(again, uris.For(new Uri("http://orders.shop/"), PodB));
    }

    [Fact]
    public async Task For_ManyThreads_EveryUriNamesItsPodAndPath()
    {
        var uris = new PodUris();
        Endpoint[] pods = [PodA, PodB, PodV6];
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Task[] workers = [.. Enumerable.Range(0, 4).Select(worker => Task.Factory.StartNew(
            () =>
            {
                for (int i = 0; i < 20_000; i++)
                {
                    Endpoint pod = pods[(i + worker) % pods.Length];
                    string path = "/p" + (i % 3);
                    Uri rewritten = uris.For(new Uri("http://orders.shop" + path), pod);
                    Assert.Equal(pod.Port, rewritten.Port);
                    Assert.Equal(path, rewritten.AbsolutePath);
                    Assert.Equal(pod.Host, rewritten.Host.Trim('[', ']'));
                    if (i % 1000 == 0)
                    {
                        uris.Retain(pods);
                    }
                }
            },
            stop.Token,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default))];

        await Task.WhenAll(workers).WaitAsync(stop.Token);
        Assert.InRange(uris.Count, 1, pods.Length);
    }
}
