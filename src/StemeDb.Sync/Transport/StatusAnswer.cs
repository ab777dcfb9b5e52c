namespace StemeDb.Sync;

/// <summary>A <c>GetStatus</c> answer: the node's status (at most <see cref="SyncProtocol.MaxStatusPeers"/> peers) and how many peers it has in all.</summary>
internal sealed record StatusAnswer(SyncNodeStatus Status, int PeersTotal);
