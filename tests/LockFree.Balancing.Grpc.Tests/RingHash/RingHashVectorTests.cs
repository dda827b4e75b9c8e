using System.Globalization;
using System.IO.Hashing;
using System.Text;
using K4os.Hash.xxHash;
using LockFree.Balancing.Grpc.RingHash;
using Xunit;

namespace LockFree.Balancing.Grpc.Tests.RingHash;

/// <summary>The C# ring against the independent Python reference (Vectors/ring_hash_vectors.py).</summary>
public sealed class RingHashVectorTests
{
    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in RingHashVectors.Root.GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("name").GetString()!);
        }

        return data;
    }

    [Fact]
    public void XxHash64_ReferenceStrings_MatchPythonAndK4os()
    {
        var checkedCount = 0;
        foreach (var vector in RingHashVectors.Root.GetProperty("xxh64").EnumerateArray())
        {
            var bytes = Encoding.UTF8.GetBytes(vector.GetProperty("input").GetString()!);
            var expected = ulong.Parse(vector.GetProperty("xxh64").GetString()!, CultureInfo.InvariantCulture);
            Assert.Equal(expected, XxHash64.HashToUInt64(bytes));
            Assert.Equal(expected, XXH64.DigestOf(bytes));
            checkedCount++;
        }

        Assert.True(checkedCount >= 5);
    }

    [Fact]
    public void EntryHash_ManyKeys_MatchesK4os()
    {
        // System.IO.Hashing (shipped) against K4os (test only) over every length 0..300 and the entry format.
        var random = new Random(7);
        for (var length = 0; length <= 300; length++)
        {
            var chars = new char[length];
            for (var i = 0; i < length; i++)
            {
                chars[i] = (char)random.Next(0x20, 0x7f);
            }

            var key = new string(chars);
            var index = random.Next(0, 100_000);
            var expected = XXH64.DigestOf(Encoding.UTF8.GetBytes(key + "_" + index.ToString(CultureInfo.InvariantCulture)));
            Assert.Equal(expected, RingHashRing.EntryHash(key, index));
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Build_PythonVectors_SameSizesEntriesAndPicks(string name)
    {
        var testCase = RingHashVectors.Case(name);
        var addresses = RingHashVectors.Addresses(testCase);
        foreach (var config in testCase.GetProperty("configs").EnumerateArray())
        {
            var options = RingHashVectors.Options(config);
            var (ring, keys) = RingHashVectors.BuildRing(addresses, options);
            var label = name + " " + config.GetProperty("minRingSize").GetInt64() + "/" + config.GetProperty("maxRingSize").GetInt64();

            Assert.True(config.GetProperty("expectedRingSize").GetInt64() == ring.TargetSize, label + " ring size");
            Assert.True(config.GetProperty("expectedEntryCount").GetInt32() == ring.Count, label + " entry count");

            var perKey = new Dictionary<string, int>();
            for (var i = 0; i < ring.Count; i++)
            {
                perKey[keys[ring.EndpointAt(i)]] = perKey.GetValueOrDefault(keys[ring.EndpointAt(i)]) + 1;
            }

            foreach (var expected in config.GetProperty("entriesPerKey").EnumerateObject())
            {
                Assert.True(expected.Value.GetInt32() == perKey[expected.Name], label + " entries of " + expected.Name);
            }

            var index = 0;
            foreach (var entry in config.GetProperty("firstEntries").EnumerateArray())
            {
                Assert.Equal(ulong.Parse(entry.GetProperty("hash").GetString()!, CultureInfo.InvariantCulture), ring.HashAt(index));
                Assert.Equal(entry.GetProperty("key").GetString(), keys[ring.EndpointAt(index)]);
                index++;
            }

            foreach (var key in config.GetProperty("keys").EnumerateArray())
            {
                var hash = RingHashRequestHash.Hash(key.GetProperty("key").GetString()!);
                Assert.Equal(ulong.Parse(key.GetProperty("hash").GetString()!, CultureInfo.InvariantCulture), hash);
                Assert.True(key.GetProperty("expected").GetString() == keys[ring.EndpointAt(ring.FindIndex(hash))], label + " key " + key.GetProperty("key").GetString());
            }

            foreach (var vector in config.GetProperty("hashes").EnumerateArray())
            {
                var hash = ulong.Parse(vector.GetProperty("hash").GetString()!, CultureInfo.InvariantCulture);
                Assert.True(vector.GetProperty("expected").GetString() == keys[ring.EndpointAt(ring.FindIndex(hash))], label + " hash " + hash);
            }
        }
    }
}
