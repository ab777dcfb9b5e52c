namespace StemeDb.Sync.Sqlite;

/// <summary>
/// What a completed <see cref="SqliteAssertionStore.PutAsync"/> survives. The engine acknowledges an assertion to
/// its sender only after the put completed, so this is also what an acknowledgement promises.
/// </summary>
public enum SqliteDurability
{
    /// <summary>
    /// SQLite <c>synchronous=FULL</c>: each group commit is flushed to stable storage (fsync of the write-ahead log)
    /// before the puts in it complete. A completed put survives a crash of the process, of the operating system and a
    /// power loss. This is the default; the cost is one fsync per batch, not per assertion.
    /// </summary>
    PowerLossSafe = 0,

    /// <summary>
    /// SQLite <c>synchronous=NORMAL</c>: a group commit is written to the write-ahead log before the puts in it
    /// complete, and the log is flushed to stable storage only at checkpoints. A completed put survives a crash or a
    /// kill of the process (the data is in the operating system's cache), but the last commits may be lost if the
    /// operating system crashes or the power fails. The database itself is never corrupted.
    /// </summary>
    ProcessCrashSafe = 1,
}
