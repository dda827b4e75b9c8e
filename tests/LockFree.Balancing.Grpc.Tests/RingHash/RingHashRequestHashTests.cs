using System.IO.Hashing;
using System.Text;
using LockFree.Balancing.Grpc.RingHash;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests.RingHash;

/// <summary>gRFC A76 request hash from a header.</summary>
[Collection(nameof(AllocationMeasurement))]
public sealed class RingHashRequestHashTests
{
    private static ulong Xxh(string s) => XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void TryHash_OneValue_Xxh64OfValue()
    {
        using var request = new HttpRequestMessage();
        request.Headers.TryAddWithoutValidation("x-user", "alice");

        Assert.True(RingHashRequestHash.TryHash(request, "x-user", out var hash));
        Assert.Equal(Xxh("alice"), hash);
    }

    [Fact]
    public void TryHash_SeveralValues_JoinedWithComma()
    {
        using var request = new HttpRequestMessage();
        request.Headers.TryAddWithoutValidation("x-user", "alice");
        request.Headers.TryAddWithoutValidation("x-user", "bob");

        Assert.True(RingHashRequestHash.TryHash(request, "x-user", out var hash));
        Assert.Equal(Xxh("alice,bob"), hash);
    }

    [Fact]
    public void TryHash_LongValue_PooledBufferSameHash()
    {
        var value = new string('k', 5000);
        using var request = new HttpRequestMessage();
        request.Headers.TryAddWithoutValidation("x-user", value);

        Assert.True(RingHashRequestHash.TryHash(request, "x-user", out var hash));
        Assert.Equal(Xxh(value), hash);
    }

    [Fact]
    public void TryHash_MissingEmptyOrNoRequest_FalseForRandomHash()
    {
        using var empty = new HttpRequestMessage();
        empty.Headers.TryAddWithoutValidation("x-user", "");
        using var other = new HttpRequestMessage();
        other.Headers.TryAddWithoutValidation("x-tenant", "t");

        Assert.False(RingHashRequestHash.TryHash(empty, "x-user", out _));
        Assert.False(RingHashRequestHash.TryHash(other, "x-user", out _));
        Assert.False(RingHashRequestHash.TryHash(null, "x-user", out _));
    }

    [Fact]
    public void TryHash_Repeated_AllocatesNothing()
    {
        using var request = new HttpRequestMessage();
        request.Headers.TryAddWithoutValidation("x-user", "alice");
        RingHashRequestHash.TryHash(request, "x-user", out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        ulong sum = 0;
        for (var i = 0; i < 10_000; i++)
        {
            RingHashRequestHash.TryHash(request, "x-user", out var hash);
            sum += hash;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.NotEqual(0UL, sum);
    }
}
