namespace StemeDb.Sync;

/// <summary>What an import (into a node) or a push (to a peer) of an assertion stream did.</summary>
/// <param name="Records">Records read and verified: every record of the stream.</param>
/// <param name="Added">Records new to the node. For a push: records the peer accepted (it does not tell new from already held).</param>
/// <param name="Rejected">For a push: records the peer refused (it stored none of them). Always 0 for an import, which stops instead.</param>
/// <param name="Bytes">Bytes of the stream read.</param>
public readonly record struct AssertionImportResult(long Records, long Added, long Rejected, long Bytes);
