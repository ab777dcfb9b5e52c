using StemeDb.Sync.Merkle.Internal;

namespace StemeDb.Sync.Tests.Merkle;

[TestFixture]
public class ChunkedListTests
{
    [Test]
    public void Add_AcrossManyChunks_KeepsEveryItemAtItsIndex()
    {
        var list = new ChunkedList<long>();

        for (long i = 0; i < 5000; i++)
        {
            Assert.That(list.Add(i * 3), Is.EqualTo(i));
        }

        Assert.That(list.Count, Is.EqualTo(5000));
        for (int i = 0; i < 5000; i++)
        {
            Assert.That(list[i], Is.EqualTo(i * 3L));
        }
    }

    [Test]
    public void EnsureSpare_BeyondSeveralChunks_LeavesCountAndItemsUnchanged()
    {
        var list = new ChunkedList<int>();
        list.Add(7);

        list.EnsureSpare(10_000);
        list[0] = 8;

        Assert.That(list.Count, Is.EqualTo(1));
        Assert.That(list[0], Is.EqualTo(8));
        for (int i = 1; i <= 10_000; i++)
        {
            Assert.That(list.Add(i), Is.EqualTo(i));
        }

        Assert.That(list[10_000], Is.EqualTo(10_000));
    }
}
