namespace StemeDb.Sync;

/// <summary>
/// Names under which the library publishes telemetry, for hosts that subscribe (OpenTelemetry
/// <c>AddMeter</c>/<c>AddSource</c>, <c>dotnet-counters</c>).
/// </summary>
public static class SyncTelemetry
{
    /// <summary>The name of the library's <see cref="System.Diagnostics.Metrics.Meter"/>: <c>StemeDb.Sync</c>.</summary>
    public const string MeterName = "StemeDb.Sync";

    /// <summary>The name of the library's <see cref="System.Diagnostics.ActivitySource"/>: <c>StemeDb.Sync</c>.</summary>
    public const string ActivitySourceName = "StemeDb.Sync";
}
