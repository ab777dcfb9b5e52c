namespace StemeDb.Sync.Merkle.Internal;

/// <summary>One inner node hash to compute: <c>values[Output] = Inner(values[Left], values[Right])</c>, positions in a value array.</summary>
internal readonly record struct NodeJob(int Left, int Right, int Output);
