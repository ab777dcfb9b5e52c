namespace StemeDb.Sync.Hosting;

/// <summary>Names under which the node reports its state through the gRPC health service (<c>grpc.health.v1.Health</c>).</summary>
public static class StemeDbSyncHealth
{
    /// <summary>The sync service's health name, <c>stemedb.sync.v1.SyncService</c>; the overall status (<c>""</c>) follows it.</summary>
    public const string ServiceName = SyncProtocol.ServiceName;
}
