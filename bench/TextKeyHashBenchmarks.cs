using System.IO.Hashing;
using System.Text;
using BenchmarkDotNet.Attributes;
using LockFree.Balancing.Hashing;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// Hashing a text key, the step every keyed pick by string takes (HTTP and gRPC headers, YARP, the core's string
/// overloads): the library's <see cref="KeyHasher.Hash(ReadOnlySpan{char})"/> against its former path (transcode to
/// UTF-8 on the stack, then XXH3; the baseline) and against hashing bytes already encoded (the floor), for ids of
/// 6–36 chars, longer keys and keys with one non-ASCII char (which take the transcoding path).
/// </summary>
/// <remarks>
/// Each call hashes the 64 keys of a pool of one length and kind (distinct, from a fixed seed). The three rows return
/// the same hashes; <c>--smoke</c> checks that.
/// </remarks>
public class TextKeyHashBenchmarks : ISmokeChecked
{
    /// <summary>Hashes per benchmark call.</summary>
    public const int HashesPerInvoke = 64;

    private string[] _keys = [];
    private byte[][] _utf8 = [];

    /// <summary>Chars per key: short ids, a UUID (36), the register path's longest (64), a longer key that is transcoded (100).</summary>
    [Params(6, 12, 36, 64, 100)]
    public int Length { get; set; }

    /// <summary>True for keys with one non-ASCII char (é) in the middle.</summary>
    [Params(false, true)]
    public bool NonAscii { get; set; }

    /// <summary>Builds the key pool.</summary>
    [GlobalSetup]
    public void Setup()
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789:/-";
        Random random = new(20261207);
        _keys = new string[HashesPerInvoke];
        _utf8 = new byte[HashesPerInvoke][];
        for (int i = 0; i < HashesPerInvoke; i++)
        {
            char[] text = new char[Length];
            for (int c = 0; c < text.Length; c++)
            {
                text[c] = Alphabet[random.Next(Alphabet.Length)];
            }

            if (NonAscii)
            {
                text[Length / 2] = 'é';
            }

            _keys[i] = new string(text);
            _utf8[i] = Encoding.UTF8.GetBytes(_keys[i]);
        }
    }

    /// <summary>
    /// Baseline: the former path, UTF-8 transcoded to a stack buffer, then XXH3 of the buffer. (The committed figures
    /// were measured with a copy of this code in bench/Baselines; the method itself was the body of the former hash.)
    /// </summary>
    /// <returns>The hashes folded.</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = HashesPerInvoke)]
    public ulong TranscodeThenHash()
    {
        ulong folded = 0;
        foreach (string key in _keys)
        {
            folded ^= KeyHasher.HashByTranscoding(key);
        }

        return folded;
    }

    /// <summary>The library: ASCII keys of up to 64 chars hashed from their chars in registers, the rest transcoded.</summary>
    /// <returns>The hashes folded.</returns>
    [Benchmark(OperationsPerInvoke = HashesPerInvoke)]
    public ulong KeyHasherText()
    {
        ulong folded = 0;
        foreach (string key in _keys)
        {
            folded ^= KeyHasher.Hash(key.AsSpan());
        }

        return folded;
    }

    /// <summary>The floor: XXH3 of the same keys already in UTF-8.</summary>
    /// <returns>The hashes folded.</returns>
    [Benchmark(OperationsPerInvoke = HashesPerInvoke)]
    public ulong HashEncodedBytes()
    {
        ulong folded = 0;
        foreach (byte[] key in _utf8)
        {
            folded ^= XxHash3.HashToUInt64(key);
        }

        return folded;
    }

    void ISmokeChecked.CheckResult(string benchmark, object? result)
    {
        if (result is not ulong folded || folded == 0)
        {
            throw new InvalidOperationException($"{benchmark} returned {result ?? "null"}.");
        }
    }

    void ISmokeChecked.CheckAfterCalls(string benchmark)
    {
        for (int i = 0; i < _keys.Length; i++)
        {
            ulong expected = XxHash3.HashToUInt64(_utf8[i]);
            if (KeyHasher.Hash(_keys[i].AsSpan()) != expected || KeyHasher.HashByTranscoding(_keys[i]) != expected)
            {
                throw new InvalidOperationException($"{benchmark}: the text hashes disagree on key {i} ({Length} chars, non-ASCII {NonAscii}).");
            }
        }
    }
}
