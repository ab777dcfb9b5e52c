using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.Logging;

namespace StemeDb.Sync.AspNetCore.Tests.Support;

/// <summary>Keeps every log line (category, level, event id and message) of the loggers it makes.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly List<(string Category, LogLevel Level, EventId Event, string Message)> _lines = [];

    public IReadOnlyList<(string Category, LogLevel Level, EventId Event, string Message)> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>The messages logged under <paramref name="category"/>, in order.</summary>
    public string[] Messages(string category) => Lines.Where(l => l.Category == category).Select(l => l.Message).ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._lines)
            {
                owner._lines.Add((category, logLevel, eventId, formatter(state, exception)));
            }
        }
    }
}
