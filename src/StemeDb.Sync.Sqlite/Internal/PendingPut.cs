using System.Threading.Tasks;

namespace StemeDb.Sync.Sqlite.Internal;

/// <summary>A put waiting for the writer; completed after its transaction commits.</summary>
internal sealed class PendingPut
{
    public PendingPut(AssertionRecord record)
    {
        Record = record;
    }

    public AssertionRecord Record { get; }

    public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
