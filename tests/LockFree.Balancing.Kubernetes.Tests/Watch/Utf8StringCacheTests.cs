using System.Text;
using System.Text.Json;
using LockFree.Balancing.Kubernetes.Watch;
using Xunit;

namespace LockFree.Balancing.Kubernetes.Tests.Watch;

public sealed class Utf8StringCacheTests
{
    private static string Read(Utf8StringCache cache, string json, string? expected)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        reader.Read();
        return cache.Get(ref reader, expected);
    }

    [Theory]
    [InlineData("\"10.0.0.1\"", "10.0.0.1")]
    [InlineData("\"zone-\u00e9\u65e5\"", "zone-\u00e9\u65e5")]
    public void Get_ValueEqualToExpected_ReturnsTheExpectedInstance(string json, string text)
    {
        string expected = new(text.AsSpan()); // a distinct instance, not the literal

        Assert.Same(expected, Read(new Utf8StringCache(), json, expected));
    }

    [Theory]
    [InlineData("\"10.0.0.2\"", "10.0.0.1")]
    [InlineData("\"10.0.0.10\"", "10.0.0.1")]
    [InlineData("\"zone-\u00e9\"", "zone-e")]
    [InlineData("\"a\\u0062\"", "ab")] // escaped text takes the general path, and still reads right
    public void Get_ValueDifferentOrEscaped_ReturnsTheCachedValue(string json, string expected)
    {
        var cache = new Utf8StringCache();
        string first = Read(cache, json, expected);
        string second = Read(cache, json, null);

        Assert.Same(first, second);
        Assert.Equal(JsonSerializer.Deserialize<string>(json), first);
    }
}
