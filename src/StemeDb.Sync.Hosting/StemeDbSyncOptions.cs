using System;
using System.Collections.Generic;

namespace StemeDb.Sync.Hosting;

/// <summary>
/// Settings of the node that <c>services.AddStemeDbSync(...)</c> registers. Bindable from configuration (section
/// <see cref="SectionName"/> by convention); validated when the host starts, with messages that name the setting.
/// </summary>
/// <example>
/// <code language="json">
/// "StemeDbSync": {
///   "NodeId": "0f8fad5b-d9cb-469f-a165-70867728950e",
///   "Peers": [ "http://10.0.0.2:5000", "http://10.0.0.3:5000" ],
///   "AntiEntropyInterval": "00:00:30"
/// }
/// </code>
/// </example>
public sealed class StemeDbSyncOptions
{
    /// <summary>The conventional configuration section name: <c>StemeDbSync</c>.</summary>
    public const string SectionName = "StemeDbSync";

    /// <summary>
    /// This node's id: 32 hex digits or a hyphenated UUID. When unset, a fresh random id is used for the life of the
    /// process; set it (and keep it) for a node whose store is durable.
    /// </summary>
    public string? NodeId { get; set; }

    /// <summary>The gRPC addresses (<c>http://host:port</c> or <c>https://…</c>) of the peers this node gossips to and reconciles with.</summary>
    public IList<string> Peers { get; } = new List<string>();

    /// <summary>Mean interval between anti-entropy passes with each peer (default 30 s); at least 100 ms.</summary>
    public TimeSpan AntiEntropyInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many peers each new assertion is pushed to (default 3; 0 disables gossip).</summary>
    public int GossipFanout { get; set; } = 3;

    /// <summary>Deadline of each call to a peer (default 10 s); between 100 ms and 10 minutes.</summary>
    public TimeSpan PeerCallTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
