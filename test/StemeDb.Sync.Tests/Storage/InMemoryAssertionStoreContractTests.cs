using StemeDb.Sync.Testing;

namespace StemeDb.Sync.Tests.Storage;

[TestFixture]
public sealed class InMemoryAssertionStoreContractTests : AssertionStoreContractTests
{
    protected override IAssertionStore CreateStore() => new InMemoryAssertionStore();
}

/// <summary>The same contract with every tag equal, so that each probe compares the full hashes of the records it passes.</summary>
[TestFixture]
public sealed class InMemoryAssertionStoreCollidingTagsContractTests : AssertionStoreContractTests
{
    protected override IAssertionStore CreateStore() => new InMemoryAssertionStore(tagMask: 0);
}
