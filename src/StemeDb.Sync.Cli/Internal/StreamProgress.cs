using System;
using System.Globalization;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>
/// Progress of an export or import on standard error, at most once a second: records so far, rate, and the share done
/// with an ETA when the total is known (a record count, or for an import from a file its length in bytes).
/// </summary>
internal sealed class StreamProgress : IProgress<AssertionStreamProgress>
{
    private const long IntervalMs = 1000;

    private readonly CliConsole _console;
    private readonly string _verb;
    private readonly long? _totalRecords;
    private readonly long? _totalBytes;
    private readonly long _started = Environment.TickCount64;
    private long _lastPrinted;

    public StreamProgress(CliConsole console, string verb, long? totalRecords = null, long? totalBytes = null)
    {
        _console = console;
        _verb = verb;
        _totalRecords = totalRecords;
        _totalBytes = totalBytes;
        _lastPrinted = _started;
    }

    /// <summary>Milliseconds since the command started.</summary>
    public long ElapsedMs => Environment.TickCount64 - _started;

    /// <summary>The stream bytes of the last report.</summary>
    public long Bytes { get; private set; }

    public void Report(AssertionStreamProgress value)
    {
        Bytes = value.Bytes;
        long now = Environment.TickCount64;
        if (now - _lastPrinted < IntervalMs)
        {
            return;
        }

        _lastPrinted = now;
        double seconds = Math.Max(1, now - _started) / 1000.0;
        double rate = value.Records / seconds;
        double? done = _totalRecords is > 0 ? (double)value.Records / _totalRecords.Value
            : _totalBytes is > 0 ? (double)value.Bytes / _totalBytes.Value
            : null;
        string line = string.Create(CultureInfo.InvariantCulture, $"{_verb}: {value.Records:N0} records, {value.Bytes / (1024.0 * 1024.0):F1} MiB, {rate:N0}/s");
        if (done is > 0 and var share)
        {
            double eta = seconds * (1 - Math.Min(1, share)) / share;
            line += string.Create(CultureInfo.InvariantCulture, $", {Math.Min(1, share):P0}, ETA {eta:F0} s");
        }

        lock (_console.Error)
        {
            _console.Error.WriteLine(line);
        }
    }

    /// <summary>The closing line: what was done, how fast.</summary>
    public string Summary(string what, long records, long bytes)
    {
        long ms = Math.Max(1, ElapsedMs);
        return string.Create(CultureInfo.InvariantCulture, $"{what} {records:N0} records ({bytes:N0} bytes) in {ms / 1000.0:F1} s, {records * 1000.0 / ms:N0}/s");
    }
}
