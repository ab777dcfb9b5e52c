namespace StemeDb.Sync.RocksDb;

/// <summary>What an acknowledged put of a <see cref="RocksDbAssertionStore"/> survives.</summary>
public enum RocksDbDurability
{
    /// <summary>
    /// The default: every group commit syncs the write-ahead log to stable storage before its puts complete, so an
    /// acknowledged assertion survives a kill of the process, an operating system crash and a power loss.
    /// </summary>
    PowerLossSafe,

    /// <summary>
    /// Every group commit is written to the write-ahead log, without a sync: an acknowledged assertion survives a kill
    /// of the process, but the last ones may be lost in an operating system crash or a power loss.
    /// </summary>
    ProcessCrashSafe,
}
