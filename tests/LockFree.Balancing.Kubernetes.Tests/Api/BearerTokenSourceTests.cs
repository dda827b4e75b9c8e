using LockFree.Balancing.Kubernetes.Api;
using LockFree.Balancing.Kubernetes.Fakes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace LockFree.Balancing.Kubernetes.Tests.Api;

public sealed class BearerTokenSourceTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "lockfree-token-" + Guid.NewGuid().ToString("N"));
    private readonly ShiftableTimeProvider _clock = new();

    public void Dispose() => File.Delete(_path);

    [Fact]
    public async Task GetAsync_FixedToken_ReturnsIt()
    {
        var source = new BearerTokenSource("abc", null, _clock);

        Assert.Equal("abc", await source.GetAsync(default));
        Assert.Null(await new BearerTokenSource(null, null, _clock).GetAsync(default));
    }

    [Fact]
    public async Task GetAsync_File_CachedForAMinuteThenReread()
    {
        await File.WriteAllTextAsync(_path, "first\n");
        var source = new BearerTokenSource(null, _path, _clock);
        Assert.Equal("first", await source.GetAsync(default));

        await File.WriteAllTextAsync(_path, "second");
        Assert.Equal("first", await source.GetAsync(default));

        _clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal("second", await source.GetAsync(default));
    }

    [Fact]
    public async Task GetAsync_FileChanged_LogsTheReloadButNeverTheToken()
    {
        using var logs = new FakeLoggerProvider();
        using ILoggerFactory loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        await File.WriteAllTextAsync(_path, "first-secret");
        var source = new BearerTokenSource(null, _path, _clock, logger: loggers.CreateLogger("test"));
        await source.GetAsync(default);
        _clock.Advance(TimeSpan.FromSeconds(61));
        await source.GetAsync(default); // unchanged: nothing to say
        await File.WriteAllTextAsync(_path, "second-secret");
        _clock.Advance(TimeSpan.FromSeconds(61));

        await source.GetAsync(default);

        FakeLogRecord reload = Assert.Single(logs.Collector.GetSnapshot());
        Assert.Equal(120, reload.Id.Id);
        Assert.Contains(_path, reload.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", reload.Message.Replace(_path, string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }
    [Fact]
    public async Task Invalidate_After401_RereadsAtOnce()
    {
        await File.WriteAllTextAsync(_path, "first");
        var source = new BearerTokenSource(null, _path, _clock);
        Assert.Equal("first", await source.GetAsync(default));
        await File.WriteAllTextAsync(_path, "second");

        source.Invalidate();

        Assert.Equal("second", await source.GetAsync(default));
    }

    [Fact]
    public async Task GetAsync_FileVanishes_KeepsPreviousTokenAndSaysWhy()
    {
        await File.WriteAllTextAsync(_path, "first");
        var source = new BearerTokenSource(null, _path, _clock);
        Assert.Equal("first", await source.GetAsync(default));
        File.Delete(_path);
        source.Invalidate();

        Assert.Equal("first", await source.GetAsync(default));
        Assert.Contains(_path, source.LastReadError, StringComparison.Ordinal);
        Assert.DoesNotContain("first", source.LastReadError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAsync_NoFileYet_ReturnsNull()
    {
        var source = new BearerTokenSource(null, _path, _clock);

        Assert.Null(await source.GetAsync(default));
        Assert.NotNull(source.LastReadError);
    }
}
