using System;

namespace StemeDb.Sync.Sqlite;

/// <summary>Settings of a <see cref="SqliteAssertionStore"/>. Works without dependency injection.</summary>
public sealed class SqliteAssertionStoreOptions
{
    /// <summary>The default <see cref="MaxBatchSize"/>: 1,024 puts per transaction.</summary>
    public const int DefaultMaxBatchSize = 1024;

    /// <summary>The default <see cref="WriteQueueCapacity"/>: 8,192 pending puts.</summary>
    public const int DefaultWriteQueueCapacity = 8192;

    /// <summary>What a completed put survives; <see cref="SqliteDurability.PowerLossSafe"/> by default.</summary>
    public SqliteDurability Durability { get; set; } = SqliteDurability.PowerLossSafe;

    /// <summary>
    /// The most puts committed in one transaction (group commit). Puts that arrive while a transaction is being
    /// committed are gathered into the next one, up to this number. Between 1 and 65,536.
    /// </summary>
    public int MaxBatchSize { get; set; } = DefaultMaxBatchSize;

    /// <summary>
    /// The most puts waiting for the writer; further puts wait asynchronously for room (back-pressure).
    /// At least 1 and at most 1,048,576.
    /// </summary>
    public int WriteQueueCapacity { get; set; } = DefaultWriteQueueCapacity;

    /// <summary>How long a reader waits for a lock held by a checkpoint before failing; 5 seconds by default.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range; the message names it and its bounds.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Durability))
        {
            throw new ArgumentOutOfRangeException(nameof(Durability), Durability, $"{nameof(Durability)} must be {nameof(SqliteDurability.PowerLossSafe)} or {nameof(SqliteDurability.ProcessCrashSafe)}.");
        }

        if (MaxBatchSize is < 1 or > 65_536)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, $"{nameof(MaxBatchSize)} must be between 1 and 65536.");
        }

        if (WriteQueueCapacity is < 1 or > 1_048_576)
        {
            throw new ArgumentOutOfRangeException(nameof(WriteQueueCapacity), WriteQueueCapacity, $"{nameof(WriteQueueCapacity)} must be between 1 and 1048576.");
        }

        if (BusyTimeout < TimeSpan.Zero || BusyTimeout > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentOutOfRangeException(nameof(BusyTimeout), BusyTimeout, $"{nameof(BusyTimeout)} must be between 0 and 10 minutes.");
        }
    }

    internal SqliteAssertionStoreOptions Clone() => (SqliteAssertionStoreOptions)MemberwiseClone();
}
