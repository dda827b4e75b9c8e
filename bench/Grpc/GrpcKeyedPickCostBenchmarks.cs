using System.Net.Http.Headers;
using BenchmarkDotNet.Attributes;
using Grpc.Net.Client.Balancer;
using LockFree.Balancing.Grpc;
using LockFree.Balancing.Hashing;

namespace LockFree.Balancing.Benchmarks.Grpc;

/// <summary>
/// Where a keyed gRPC pick's time goes, step by step, on a request shaped like grpc-dotnet's (its <c>user-agent</c>,
/// <c>te</c> and <c>grpc-accept-encoding</c> headers, then the call's metadata with the key last): reading the
/// key header, hashing the key, the core's pick by key (hash and ring lookup), and the whole
/// <c>lockfree_consistent_hash</c> pick through the policy's picker (<see cref="GrpcPickerBenchmarks"/> measures the
/// pickers side by side with grpc-dotnet's own round robin).
/// </summary>
public class GrpcKeyedPickCostBenchmarks : ISmokeChecked
{
    private const int Requests = 1024;
    private const string KeyHeader = "x-user";

    private HttpRequestMessage[] _requests = [];
    private string[] _keys = [];
    private ConsistentHashBalancer _core = null!;
    private int _cursor;

    /// <summary>Endpoints on the ring.</summary>
    [Params(10, 1000)]
    public int N { get; set; }

    /// <summary>Builds the requests and the ring.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _requests = new HttpRequestMessage[Requests];
        _keys = new string[Requests];
        for (int i = 0; i < Requests; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "http://orders.shop/orders.Orders/Get");
            request.Headers.TryAddWithoutValidation("user-agent", "grpc-dotnet/2.85.0 (.NET 10.0.0; CLR 10.0.0; net10.0; linux; x64)");
            request.Headers.TryAddWithoutValidation("te", "trailers");
            request.Headers.TryAddWithoutValidation("grpc-accept-encoding", "identity,gzip,deflate");
            request.Headers.TryAddWithoutValidation("x-request-id", "0f8fad5b-d9cb-469f-a165-70867728950e");
            _keys[i] = "user-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            request.Headers.TryAddWithoutValidation(KeyHeader, _keys[i]);
            _requests[i] = request;
        }

        _core = new ConsistentHashBalancer(new ConsistentHashOptions());
        _core.Update(Enumerable.Range(0, N).Select(i => new Endpoint($"10.1.{i >> 8}.{i & 255}", 8080)));
    }

    /// <summary>Reading the key header as the picker does: walking the request's headers and comparing names.</summary>
    /// <returns>The key's length, so the read is not optimized away.</returns>
    [Benchmark(Baseline = true)]
    public int ReadKeyHeaderByWalking()
    {
        HttpRequestMessage request = _requests[_cursor++ & (Requests - 1)];
        return RequestHeaders.TryGetValues(request, KeyHeader, out HeaderStringValues values) ? values.ToString().Length : 0;
    }

    /// <summary>Reading it through <c>HttpHeaders.NonValidated.TryGetValues(name)</c>, which parses the name on each call.</summary>
    /// <returns>The key's length.</returns>
    [Benchmark]
    public int ReadKeyHeaderByName()
    {
        HttpRequestMessage request = _requests[_cursor++ & (Requests - 1)];
        return request.Headers.NonValidated.TryGetValues(KeyHeader, out HeaderStringValues values) ? values.ToString().Length : 0;
    }

    /// <summary>Hashing the key (UTF-16 to UTF-8, XXH3).</summary>
    /// <returns>The hash.</returns>
    [Benchmark]
    public ulong HashKey() => KeyHasher.Hash(_keys[_cursor++ & (Requests - 1)].AsSpan());

    /// <summary>The core's pick by key: hash and ring lookup, nothing counted.</summary>
    /// <returns>The endpoint index.</returns>
    [Benchmark]
    public int CorePickByKey() => _core.PickIndex(_keys[_cursor++ & (Requests - 1)].AsSpan(), out _, out _);

    /// <inheritdoc />
    public void CheckResult(string benchmark, object? result)
    {
        if (result is not (int or ulong))
        {
            throw new InvalidOperationException($"{benchmark} returned {result}.");
        }

        if (result is int value && value < 0)
        {
            throw new InvalidOperationException($"{benchmark} found no key or endpoint ({value}).");
        }
    }

    /// <inheritdoc />
    public void CheckAfterCalls(string benchmark)
    {
    }
}
