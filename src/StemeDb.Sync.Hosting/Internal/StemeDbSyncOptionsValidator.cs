using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Options;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>Checks <see cref="StemeDbSyncOptions"/> at start-up and reports every problem, each naming its setting.</summary>
internal sealed class StemeDbSyncOptionsValidator : IValidateOptions<StemeDbSyncOptions>
{
    public const int MaxGossipFanout = 64;

    private static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(10);

    public ValidateOptionsResult Validate(string? name, StemeDbSyncOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        string prefix = StemeDbSyncOptions.SectionName + ":";

        if (options.NodeId is { } nodeId)
        {
            if (!NodeId.TryParse(nodeId, out NodeId parsed))
            {
                failures.Add($"{prefix}{nameof(StemeDbSyncOptions.NodeId)}: '{nodeId}' is neither 32 hex digits nor a hyphenated UUID.");
            }
            else if (parsed == NodeId.Empty)
            {
                failures.Add($"{prefix}{nameof(StemeDbSyncOptions.NodeId)}: the all-zero id is reserved; choose a random UUID.");
            }
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < options.Peers.Count; i++)
        {
            string? peer = options.Peers[i];
            string setting = $"{prefix}{nameof(StemeDbSyncOptions.Peers)}[{i}]";
            if (!TryParsePeer(peer, out Uri? uri, out string? problem))
            {
                failures.Add($"{setting}: {problem}");
            }
            else if (!seen.Add(uri!.GetLeftPart(UriPartial.Path).TrimEnd('/')))
            {
                failures.Add($"{setting}: '{peer}' is listed more than once.");
            }
        }

        if (options.AntiEntropyInterval != Timeout.InfiniteTimeSpan && options.AntiEntropyInterval < MinInterval)
        {
            failures.Add($"{prefix}{nameof(StemeDbSyncOptions.AntiEntropyInterval)}: {options.AntiEntropyInterval} is below the minimum of {MinInterval} (use {Timeout.InfiniteTimeSpan} to disable periodic anti-entropy).");
        }

        if (options.GossipFanout is < 0 or > MaxGossipFanout)
        {
            failures.Add($"{prefix}{nameof(StemeDbSyncOptions.GossipFanout)}: {options.GossipFanout} is outside 0..{MaxGossipFanout}.");
        }

        if (options.PeerCallTimeout < MinInterval || options.PeerCallTimeout > MaxTimeout)
        {
            failures.Add($"{prefix}{nameof(StemeDbSyncOptions.PeerCallTimeout)}: {options.PeerCallTimeout} is outside {MinInterval}..{MaxTimeout}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Parses a peer address: absolute http or https, with a host and no query or fragment.</summary>
    public static bool TryParsePeer(string? text, out Uri? uri, out string? problem)
    {
        uri = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "the address is empty.";
            return false;
        }

        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out Uri? parsed)
            || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(parsed.Host))
        {
            problem = $"'{text}' is not an absolute http:// or https:// address such as http://127.0.0.1:5000.";
            return false;
        }

        if (!string.IsNullOrEmpty(parsed.Query) || !string.IsNullOrEmpty(parsed.Fragment))
        {
            problem = $"'{text}' has a query or fragment; a peer address is scheme, host, port (and optional path base) only.";
            return false;
        }

        uri = parsed;
        problem = null;
        return true;
    }
}
