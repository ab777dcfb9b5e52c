namespace StemeDb.Sync;

/// <summary>The RPCs of <c>stemedb.sync.v1.SyncService</c>, as a <see cref="SyncServer"/> names them to its authorizer and in its logs.</summary>
public enum SyncRpc
{
    /// <summary><c>Gossip</c>: a peer pushes one assertion.</summary>
    Gossip,

    /// <summary><c>ExchangeRoots</c>: Merkle root comparison.</summary>
    ExchangeRoots,

    /// <summary><c>FetchAssertions</c>: assertions by hash.</summary>
    FetchAssertions,

    /// <summary><c>Ping</c>: liveness and metadata.</summary>
    Ping,

    /// <summary><c>GetLeaves</c>: Merkle leaf hashes.</summary>
    GetLeaves,

    /// <summary><c>Reconcile</c> (extension): one round of set reconciliation.</summary>
    Reconcile,

    /// <summary><c>GossipBatch</c> (extension): a peer pushes many assertions.</summary>
    GossipBatch,

    /// <summary><c>ReconcileSymbols</c> (extension): one message of a rateless reconciliation's stream.</summary>
    ReconcileSymbols,

    /// <summary><c>StreamAssertions</c> (extension): a peer reads every assertion, in hash order, as one stream.</summary>
    StreamAssertions,

    /// <summary><c>Broadcast</c> (extension): a peer pushes payloads, announces hashes, or grafts or prunes the link between the two nodes.</summary>
    Broadcast,

    /// <summary><c>GetStatus</c> (extension): the node's sync status, for operators.</summary>
    GetStatus,
}
