using System;

namespace StemeDb.Sync.RocksDb;

/// <summary>Settings of a <see cref="RocksDbAssertionStore"/>. Works without dependency injection.</summary>
public sealed class RocksDbAssertionStoreOptions
{
    /// <summary>The default <see cref="MaxBatchSize"/>: 4,096 puts per group commit.</summary>
    public const int DefaultMaxBatchSize = 4096;

    /// <summary>The default <see cref="WriteQueueCapacity"/>: 16,384 pending puts.</summary>
    public const int DefaultWriteQueueCapacity = 16_384;

    /// <summary>What a completed put survives; <see cref="RocksDbDurability.PowerLossSafe"/> by default.</summary>
    public RocksDbDurability Durability { get; set; } = RocksDbDurability.PowerLossSafe;

    /// <summary>
    /// The most puts written in one write batch (group commit, with one sync of the write-ahead log). Puts that arrive
    /// while a batch is being written are gathered into the next one, up to this number. Between 1 and 65,536.
    /// </summary>
    public int MaxBatchSize { get; set; } = DefaultMaxBatchSize;

    /// <summary>
    /// The most puts waiting for the writer; further puts wait asynchronously for room (back-pressure).
    /// At least 1 and at most 1,048,576.
    /// </summary>
    public int WriteQueueCapacity { get; set; } = DefaultWriteQueueCapacity;

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range; the message names it and its bounds.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Durability))
        {
            throw new ArgumentOutOfRangeException(nameof(Durability), Durability, $"{nameof(Durability)} must be {nameof(RocksDbDurability.PowerLossSafe)} or {nameof(RocksDbDurability.ProcessCrashSafe)}.");
        }

        if (MaxBatchSize is < 1 or > 65_536)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, $"{nameof(MaxBatchSize)} must be between 1 and 65536.");
        }

        if (WriteQueueCapacity is < 1 or > 1_048_576)
        {
            throw new ArgumentOutOfRangeException(nameof(WriteQueueCapacity), WriteQueueCapacity, $"{nameof(WriteQueueCapacity)} must be between 1 and 1048576.");
        }
    }

    internal RocksDbAssertionStoreOptions Clone() => (RocksDbAssertionStoreOptions)MemberwiseClone();
}
