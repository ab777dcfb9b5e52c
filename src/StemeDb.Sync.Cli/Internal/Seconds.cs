using System;
using System.Globalization;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>A duration given on the command line in seconds, and shown in help as seconds ("30", not "00:00:30").</summary>
internal readonly record struct Seconds(TimeSpan Value)
{
    public static implicit operator TimeSpan(Seconds seconds) => seconds.Value;

    public override string ToString() => Value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}
