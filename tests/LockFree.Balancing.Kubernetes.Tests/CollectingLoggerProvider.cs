using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace LockFree.Balancing.Kubernetes.Tests;

/// <summary>Keeps every log entry (event id, level, formatted message) for a test to inspect.</summary>
internal sealed class CollectingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(int EventId, LogLevel Level, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Collecting(Entries);

    public void Dispose()
    {
    }

    private sealed class Collecting(ConcurrentQueue<(int EventId, LogLevel Level, string Message)> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => entries.Enqueue((eventId.Id, logLevel, formatter(state, exception)));
    }
}
