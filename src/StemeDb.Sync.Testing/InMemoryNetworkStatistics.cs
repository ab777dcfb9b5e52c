namespace StemeDb.Sync.Testing;

/// <summary>What an <see cref="InMemoryNetwork"/> did so far.</summary>
/// <param name="Sent">Calls made.</param>
/// <param name="Delivered">Calls whose handler ran (once or twice).</param>
/// <param name="Dropped">Requests lost before the handler.</param>
/// <param name="Duplicated">Requests delivered a second time.</param>
/// <param name="AnswersLost">Answers lost after the handler ran.</param>
/// <param name="Refused">Calls refused: partition, disconnected or unknown endpoint.</param>
public readonly record struct InMemoryNetworkStatistics(long Sent, long Delivered, long Dropped, long Duplicated, long AnswersLost, long Refused);
