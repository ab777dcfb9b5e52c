namespace StemeDb.Sync;

/// <summary>What an import (into a node) or a push (to a peer) of an assertion stream did.</summary>
public readonly struct AssertionImportResult
{
    internal AssertionImportResult(long records, long added, long rejected, long bytes)
    {
        Records = records;
        Added = added;
        Rejected = rejected;
        Bytes = bytes;
    }

    /// <summary>Records read and verified: every record of the stream.</summary>
    public long Records { get; }

    /// <summary>Records new to the node. For a push: records the peer accepted (it does not tell new from already held).</summary>
    public long Added { get; }

    /// <summary>For a push: records the peer refused (it stored none of them). Always 0 for an import, which stops instead.</summary>
    public long Rejected { get; }

    /// <summary>Bytes of the stream read.</summary>
    public long Bytes { get; }
}
