namespace StemeDb.Sync;

/// <summary>How far an export, import or push of an assertion stream has come.</summary>
/// <param name="Records">Records written, or read and handled (stored, or answered by the peer).</param>
/// <param name="Bytes">Bytes of the stream written or read.</param>
public readonly record struct AssertionStreamProgress(long Records, long Bytes);
