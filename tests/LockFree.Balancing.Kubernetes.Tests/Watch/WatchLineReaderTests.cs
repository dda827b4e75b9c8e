using System.Text;
using LockFree.Balancing.Kubernetes.Fakes;
using LockFree.Balancing.Kubernetes.Watch;
using Xunit;
using static LockFree.Balancing.Kubernetes.Fakes.Payloads;

namespace LockFree.Balancing.Kubernetes.Tests.Watch;

public sealed class WatchLineReaderTests
{
    private static async Task<List<string>> ReadAllAsync(Stream stream, int maxLineBytes = 1 << 20)
    {
        using var reader = new WatchLineReader(stream, maxLineBytes);
        var lines = new List<string>();
        while (true)
        {
            ReadOnlyMemory<byte> line = await reader.ReadLineAsync(CancellationToken.None);
            if (line.IsEmpty)
            {
                return lines;
            }

            lines.Add(Encoding.UTF8.GetString(line.Span));
        }
    }

    private static string[] SampleEvents() =>
    [
        Event("ADDED", Slice("web-a", "1", "IPv4", HttpPort(8080), Endpoint("10.0.0.1"))),
        Bookmark("2"),
        Event("MODIFIED", Slice("web-b", "3", "IPv6", HttpPort(8080), Endpoint("fd00::1"))),
    ];

    [Fact]
    public async Task ReadLineAsync_SplitAtEveryByteBoundary_YieldsSameEventsAndParses()
    {
        string[] events = SampleEvents();
        byte[] data = Utf8(string.Join("\n", events.Take(2)) + "\n");
        Assert.True(data.Length > Encoding.UTF8.GetByteCount(string.Join("", events.Take(2)))); // holds multi-byte UTF-8

        for (int split = 1; split < data.Length; split++)
        {
            int at = split;
            var stream = new ChunkedStream(data, read => read == 0 ? at : int.MaxValue);

            List<string> lines = await ReadAllAsync(stream);

            Assert.Equal(events.Take(2), lines);
        }
    }

    [Fact]
    public async Task ReadLineAsync_OneByteReads_InsideUtf8Sequences_ParsesEvents()
    {
        string[] events = SampleEvents();
        byte[] data = Utf8(string.Join("\n", events) + "\n");
        var stream = new ChunkedStream(data, _ => 1);
        using var reader = new WatchLineReader(stream, 1 << 20);
        var cache = new Utf8StringCache();

        var types = new List<WatchEventType>();
        for (ReadOnlyMemory<byte> line = await reader.ReadLineAsync(default); !line.IsEmpty; line = await reader.ReadLineAsync(default))
        {
            types.Add(KubernetesJson.ParseWatchEvent(line.Span, cache).Type);
        }

        Assert.Equal([WatchEventType.Added, WatchEventType.Bookmark, WatchEventType.Modified], types);
    }

    [Fact]
    public async Task ReadLineAsync_CrLfAndBlankLines_AreHandled()
    {
        byte[] data = Utf8("{\"a\":1}\r\n\r\n\n{\"b\":2}\r\n  \n");

        Assert.Equal(["{\"a\":1}", "{\"b\":2}"], await ReadAllAsync(new ChunkedStream(data, _ => 3)));
    }

    [Fact]
    public async Task ReadLineAsync_RandomChunks_ManyEvents_AllArrive()
    {
        var random = new Random(42);
        string[] events = [.. Enumerable.Range(0, 200).Select(i => Event("MODIFIED", Slice("web-" + i, i.ToString(System.Globalization.CultureInfo.InvariantCulture), "IPv4", HttpPort(8080), Endpoint("10.0.0." + (i % 250 + 1)))))];
        byte[] data = Utf8(string.Join("\r\n", events) + "\r\n");

        List<string> lines = await ReadAllAsync(new ChunkedStream(data, _ => random.Next(1, 5000)), maxLineBytes: 8192);

        Assert.Equal(events, lines);
    }

    [Fact]
    public async Task ReadLineAsync_LastLineWithoutNewline_CompleteObjectIsReturned()
    {
        Assert.Equal(["{\"a\":1}", "{\"b\":2}"], await ReadAllAsync(new ChunkedStream(Utf8("{\"a\":1}\n{\"b\":2}"), _ => 100)));
    }

    [Fact]
    public async Task ReadLineAsync_StreamEndsMidEvent_ThrowsEndOfStream()
    {
        string line = Event("ADDED", Slice("web-a", "1", "IPv4", HttpPort(8080), Endpoint("10.0.0.1")));
        byte[] data = Utf8(line + "\n" + line[..(line.Length / 2)]);
        using var reader = new WatchLineReader(new ChunkedStream(data, _ => 64), 1 << 20);

        Assert.False((await reader.ReadLineAsync(default)).IsEmpty);
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await reader.ReadLineAsync(default));
    }

    [Fact]
    public async Task ReadLineAsync_LineOverLimit_ThrowsWithoutReadingUnbounded()
    {
        var stream = new EndlessStream();
        using var reader = new WatchLineReader(stream, maxLineBytes: 100_000);

        var exception = await Assert.ThrowsAsync<WatchEventTooLargeException>(async () => await reader.ReadLineAsync(default));

        Assert.Equal(100_000, exception.LimitBytes);
        Assert.InRange(stream.BytesRead, 100_000, 100_000 + 8192 * 2);
        Assert.True(reader.BufferCapacity <= 2 * (100_000 + 2));
    }

    [Fact]
    public async Task ReadLineAsync_CompleteLineOverLimit_Throws()
    {
        byte[] data = Utf8("{\"a\":\"" + new string('x', 200) + "\"}\n");

        await Assert.ThrowsAsync<WatchEventTooLargeException>(() => ReadAllAsync(new ChunkedStream(data, _ => 4096), maxLineBytes: 100));
    }

    [Fact]
    public async Task ReadLineAsync_LineExactlyAtLimitWithCrLf_IsAccepted()
    {
        string line = "{\"a\":\"" + new string('x', 92) + "\"}"; // 100 bytes

        Assert.Equal([line], await ReadAllAsync(new ChunkedStream(Utf8(line + "\r\n"), _ => 7), maxLineBytes: 100));
    }

    [Fact]
    public async Task ReadLineAsync_LinesLargerThanInitialBuffer_GrowAndParse()
    {
        string line = Event("MODIFIED", Slice("big", "1", "IPv4", HttpPort(80), padding: 300_000, Endpoint("10.0.0.1")));
        byte[] data = Utf8(line + "\n" + line + "\n");

        List<string> lines = await ReadAllAsync(new ChunkedStream(data, _ => 10_000));

        Assert.Equal([line, line], lines);
    }

    [Fact]
    public async Task ReadLineAsync_EmptyStream_ReturnsEmpty()
    {
        Assert.Empty(await ReadAllAsync(new ChunkedStream([], _ => 1)));
    }

    [Fact]
    public async Task BodyReader_OverLimit_ThrowsTooLarge()
    {
        await Assert.ThrowsAsync<WatchEventTooLargeException>(() => BodyReader.ReadAsync(new EndlessStream(), 200_000, "list page", default));

        using PooledBody body = await BodyReader.ReadAsync(new ChunkedStream(Utf8("{\"x\":1}"), _ => 2), 7, "list page", default);
        Assert.Equal("{\"x\":1}", Encoding.UTF8.GetString(body.Span));
    }
}
