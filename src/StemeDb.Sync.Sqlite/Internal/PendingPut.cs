using System.Threading.Tasks;

namespace StemeDb.Sync.Sqlite.Internal;

/// <summary>A put waiting for the writer; completed (with whether it added the record) after its transaction commits.</summary>
internal sealed class PendingPut : TaskCompletionSource<bool>
{
    public PendingPut(AssertionRecord record)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        Record = record;
    }

    public AssertionRecord Record { get; }
}
