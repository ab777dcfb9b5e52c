namespace StemeDb.Sync;

/// <summary>How far an export, import or push of an assertion stream has come.</summary>
public readonly struct AssertionStreamProgress
{
    internal AssertionStreamProgress(long records, long bytes)
    {
        Records = records;
        Bytes = bytes;
    }

    /// <summary>Records written, or read and handled (stored, or answered by the peer).</summary>
    public long Records { get; }

    /// <summary>Bytes of the stream written or read.</summary>
    public long Bytes { get; }
}
