using StemeDb.Sync.Storage;
using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Tests.Storage;

[TestFixture]
public sealed class InMemoryAssertionStoreContractTests : AssertionStoreContractTests
{
    protected override IAssertionStore CreateStore() => new InMemoryAssertionStore();
}
