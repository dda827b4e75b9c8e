using System.IO.Hashing;
using System.Text;
using BenchmarkDotNet.Attributes;
using K4os.Hash.xxHash;
using LockFree.Balancing.Hashing;
using OwnXxh3 = LockFree.Balancing.Benchmarks.Baselines.Xxh3;

namespace LockFree.Balancing.Benchmarks;

/// <summary>
/// The key hash alone, for key-sized inputs of 8–256 bytes: the library's former XXH3-64 port (baseline),
/// System.IO.Hashing's <see cref="XxHash3"/> and <see cref="XxHash64"/>, K4os's <see cref="XXH64"/>, and
/// the library's seam <see cref="KeyHasher"/> over bytes and over text.
/// </summary>
/// <remarks>
/// Each call hashes the 64 inputs of a pool of the given length (distinct ASCII key-like bytes from a fixed
/// seed), so the times are per hash and the length is fixed per row, as a key of one shape is in practice.
/// <c>--smoke</c> checks that both XXH3 implementations and both XXH64 implementations agree on every input.
/// </remarks>
public class HashBenchmarks : ISmokeChecked
{
    /// <summary>Hashes per benchmark call.</summary>
    public const int HashesPerInvoke = 64;

    private byte[][] _inputs = [];
    private string[] _texts = [];

    /// <summary>Bytes per key (characters for the text row: ASCII, so as many UTF-8 bytes).</summary>
    [Params(8, 16, 32, 64, 128, 256)]
    public int Length { get; set; }

    /// <summary>Builds the input pool for <see cref="Length"/>.</summary>
    [GlobalSetup]
    public void Setup()
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789:/-";
        Random random = new(20240602);
        _inputs = new byte[HashesPerInvoke][];
        _texts = new string[HashesPerInvoke];
        for (int i = 0; i < HashesPerInvoke; i++)
        {
            char[] text = new char[Length];
            for (int c = 0; c < text.Length; c++)
            {
                text[c] = Alphabet[random.Next(Alphabet.Length)];
            }

            _texts[i] = new string(text);
            _inputs[i] = Encoding.UTF8.GetBytes(_texts[i]);
        }
    }

    /// <summary>Baseline: the library's own XXH3-64 port, as it was in src/ (now bench/Baselines/Xxh3.cs).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = HashesPerInvoke)]
    public ulong OwnXxh3Port()
    {
        ulong folded = 0;
        foreach (byte[] input in _inputs)
        {
            folded ^= OwnXxh3.Hash64(input);
        }

        return folded;
    }

    /// <summary>System.IO.Hashing <see cref="XxHash3.HashToUInt64(ReadOnlySpan{byte}, long)"/>, seed 0: the same values.</summary>
    [Benchmark(OperationsPerInvoke = HashesPerInvoke)]
    public ulong SystemXxHash3()
    {
        ulong folded = 0;
        foreach (byte[] input in _inputs)
        {
            folded ^= XxHash3.HashToUInt64(input);
        }

        return folded;
    }

    /// <summary>System.IO.Hashing <see cref="XxHash64.HashToUInt64(ReadOnlySpan{byte}, long)"/>, seed 0 (gRPC ring_hash's hash).</summary>
    [Benchmark(OperationsPerInvoke = HashesPerInvoke)]
    public ulong SystemXxHash64()
    {
        ulong folded = 0;
        foreach (byte[] input in _inputs)
        {
            folded ^= XxHash64.HashToUInt64(input);
        }

        return folded;
    }

    /// <summary>K4os.Hash.xxHash <see cref="XXH64.DigestOf(ReadOnlySpan{byte})"/>: an independent XXH64.</summary>
    [Benchmark(OperationsPerInvoke = HashesPerInvoke)]
    public ulong K4osXxh64()
    {
        ulong folded = 0;
        foreach (byte[] input in _inputs)
        {
            folded ^= XXH64.DigestOf(input);
        }

        return folded;
    }

    /// <summary>The library's seam over bytes: <see cref="KeyHasher.Hash(ReadOnlySpan{byte})"/>.</summary>
    [Benchmark(OperationsPerInvoke = HashesPerInvoke)]
    public ulong KeyHasherBytes()
    {
        ulong folded = 0;
        foreach (byte[] input in _inputs)
        {
            folded ^= KeyHasher.Hash(input);
        }

        return folded;
    }

    /// <summary>The library's seam over text: <see cref="KeyHasher.Hash(ReadOnlySpan{char})"/> (ASCII keys up to 64 chars from their chars in registers; longer ones transcoded to UTF-8, then XXH3; <see cref="TextKeyHashBenchmarks"/> compares the two paths).</summary>
    [Benchmark(OperationsPerInvoke = HashesPerInvoke)]
    public ulong KeyHasherText()
    {
        ulong folded = 0;
        foreach (string text in _texts)
        {
            folded ^= KeyHasher.Hash(text.AsSpan());
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
        for (int i = 0; i < _inputs.Length; i++)
        {
            ulong xxh3 = XxHash3.HashToUInt64(_inputs[i]);
            if (OwnXxh3.Hash64(_inputs[i]) != xxh3 || KeyHasher.Hash(_inputs[i]) != xxh3 || KeyHasher.Hash(_texts[i].AsSpan()) != xxh3)
            {
                throw new InvalidOperationException($"{benchmark}: the XXH3-64 implementations disagree on input {i} of {Length} bytes.");
            }

            if (XXH64.DigestOf(_inputs[i]) != XxHash64.HashToUInt64(_inputs[i]))
            {
                throw new InvalidOperationException($"{benchmark}: the XXH64 implementations disagree on input {i} of {Length} bytes.");
            }
        }
    }
}
