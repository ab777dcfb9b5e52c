using System;
using System.Collections.Generic;
using System.Linq;
using StemeDb.Sync.Merkle.Internal;
using StemeDb.Sync.Reconciliation.Internal;

namespace StemeDb.Sync.Tests.Reconciliation;

[TestFixture]
public sealed class RibltTests
{
    [TestCase(0, 1_003, 4_096)]
    [TestCase(100, 7, 300)]
    [TestCase(700, 2_050, 20_000)]
    public void ApplyMany_AgainstOneByOne_SameSymbols(int start, int leafCount, int length)
    {
        // Arrange: leaves not a multiple of the four walks advanced side by side, a window not at 0
        var random = new Random(leafCount);
        var leaves = new (ulong W0, ulong W1, ulong W2, ulong W3)[leafCount];
        for (int i = 0; i < leaves.Length; i++)
        {
            leaves[i] = ((ulong)random.NextInt64(), (ulong)random.NextInt64(), (ulong)random.NextInt64(), (ulong)random.NextInt64());
        }

        var together = new CodedSymbol[length];
        var oneByOne = new CodedSymbol[length];

        // Act
        RibltSketch.ApplyMany(together, (ulong)start, leaves, 1);
        foreach ((ulong w0, ulong w1, ulong w2, ulong w3) in leaves)
        {
            RibltSketch.Apply(oneByOne, (ulong)start, w0, w1, w2, w3, 1);
        }

        // Assert
        Assert.That(together, Is.EqualTo(oneByOne));
        Assert.That(together.Count(s => !s.IsEmpty), Is.GreaterThan(leafCount / 4), "the symbols were written");
    }

    [TestCase(0, 0)]
    [TestCase(500, 1)]
    [TestCase(500, 2)]
    [TestCase(2_000, 10)]
    [TestCase(2_000, 100)]
    [TestCase(1_000, 1_000)]
    [TestCase(300, 10_000)]
    [TestCase(100, 100_000)]
    [TestCase(0, 5_000)]
    public void Decoder_RandomDifference_ListsBothDirections(int shared, int differences)
    {
        // Arrange
        ReconcileTestSets sets = ReconcileTestSets.Create(shared, differences, seed: (shared * 31) + differences);
        List<AssertionHash> localLeaves = Leaves(sets.Local);
        List<AssertionHash> remoteLeaves = Leaves(sets.Remote);
        var decoder = new RibltDecoder(ReconcileSymbolsLimits.MaxSymbols);

        int length = Math.Max(32, (int)(2.5 * differences));
        var remoteSymbols = new CodedSymbol[length];
        var localSymbols = new CodedSymbol[length];
        RibltSketch.Compute(remoteSymbols, 0, remoteLeaves);
        RibltSketch.Compute(localSymbols, 0, localLeaves);
        long countGap = localLeaves.Count - remoteLeaves.Count;
        var estimate = new SymbolDifferenceEstimate(countGap);

        // Act: a prefix at a time, as the reconciler reads them
        RibltDecodeStatus status = RibltDecodeStatus.NeedMore;
        uint count = SymbolReconciler.FirstCount;
        int exchanges = 0;
        while (status == RibltDecodeStatus.NeedMore && decoder.SymbolCount + (int)count <= length)
        {
            ReadOnlySpan<CodedSymbol> theirs = remoteSymbols.AsSpan(decoder.SymbolCount, (int)count);
            ReadOnlySpan<CodedSymbol> ours = localSymbols.AsSpan(decoder.SymbolCount, (int)count);
            estimate.Add(decoder.SymbolCount, theirs, ours);
            status = decoder.Add(theirs, ours);
            exchanges++;
            count = SymbolReconciler.NextCount(decoder.SymbolCount, Math.Abs(countGap), estimate.Differences);
        }

        // Assert
        (List<AssertionHash> localOnly, List<AssertionHash> remoteOnly) = decoder.Differences();
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(RibltDecodeStatus.Decoded));
            Assert.That(localOnly.Order(), Is.EqualTo(sets.OnlyLocal.Order()));
            Assert.That(remoteOnly.Order(), Is.EqualTo(sets.OnlyRemote.Order()));
                    });
        if (differences >= 1_000)
        {
            // The estimate from the counts sizes the requests: few messages, and few symbols past the point of decoding
            Assert.That(exchanges, Is.LessThanOrEqualTo(15), "messages");
            Assert.That(decoder.SymbolCount, Is.LessThanOrEqualTo(1.7 * differences), "symbols");
        }

        TestContext.Out.WriteLine($"d={differences}: {decoder.SymbolCount} symbols, {(double)decoder.SymbolCount / Math.Max(1, differences):F2} per difference, {exchanges} messages");
    }

    [TestCase(100)]
    [TestCase(1_000)]
    [TestCase(10_000)]
    public void DifferenceEstimate_FromTheCountsOfManySymbols_IsWithinAThird(int differences)
    {
        // Arrange: a difference split at random, and 2,000 symbols of each side
        ReconcileTestSets sets = ReconcileTestSets.Create(500, differences, seed: differences + 3);
        List<AssertionHash> localLeaves = Leaves(sets.Local);
        List<AssertionHash> remoteLeaves = Leaves(sets.Remote);
        var remote = new CodedSymbol[2_000];
        var local = new CodedSymbol[2_000];
        RibltSketch.Compute(remote, 0, remoteLeaves);
        RibltSketch.Compute(local, 0, localLeaves);
        var estimate = new SymbolDifferenceEstimate(localLeaves.Count - remoteLeaves.Count);

        // Act: in two pieces, as two answers
        estimate.Add(0, remote.AsSpan(0, 6), local.AsSpan(0, 6));
        estimate.Add(6, remote.AsSpan(6), local.AsSpan(6));

        // Assert
        Assert.That(estimate.Differences, Is.InRange(differences / 1.35, differences * 1.35));
    }

    [TestCase(6, 0, 0.0, long.MaxValue, 8u)] // no estimate: at least 8 more
    [TestCase(6, 0, 1_000.0, long.MaxValue, 90u)] // a rough estimate: at most 16 times the symbols in hand
    [TestCase(100, 0, 1_000.0, long.MaxValue, 800u)] // a firmer one: 0.9 of it
    [TestCase(100, 0, 1_000.0, 500, 400u)] // never past the limit
    [TestCase(100, 0, 1_000.0, 50, 10u)] // a limit below what is in hand: a tenth more, as without an estimate
    [TestCase(100, 1_000, 0.0, 500, 1_308u)] // the gap in the counts is proof, not a guess: the limit does not apply
    public void NextCount_WithAnEstimate_AsksForAShareOfItWithinItsLimits(int received, long countGap, double estimate, long guessLimit, uint expected)
    {
        // Act
        uint count = SymbolReconciler.NextCount(received, countGap, estimate, guessLimit);

        // Assert
        Assert.That(count, Is.EqualTo(expected));
    }

    [Test]
    public void DifferenceEstimate_NoSymbolPastZero_IsZero()
    {
        // Arrange
        ReconcileTestSets sets = ReconcileTestSets.Create(50, 10, seed: 5);
        var remote = new CodedSymbol[1];
        var local = new CodedSymbol[1];
        RibltSketch.Compute(remote, 0, Leaves(sets.Remote));
        RibltSketch.Compute(local, 0, Leaves(sets.Local));
        var estimate = new SymbolDifferenceEstimate(sets.Local.Count - sets.Remote.Count);

        // Act
        estimate.Add(0, remote, local);

        // Assert: symbol 0 holds every leaf, so its count is the gap and says nothing of the difference
        Assert.That(estimate.Differences, Is.Zero);
    }

    [Test]
    public void Decoder_OneDifference_DecodesFromSymbolZero()
    {
        // Arrange
        ReconcileTestSets sets = ReconcileTestSets.Create(1_000, 1, seed: 7);
        var decoder = new RibltDecoder(16);
        var remote = new CodedSymbol[1];
        var local = new CodedSymbol[1];
        RibltSketch.Compute(remote, 0, Leaves(sets.Remote));
        RibltSketch.Compute(local, 0, Leaves(sets.Local));

        // Act
        RibltDecodeStatus status = decoder.Add(remote, local);

        // Assert
        Assert.That(status, Is.EqualTo(RibltDecodeStatus.Decoded));
        Assert.That(decoder.DecodedCount, Is.EqualTo(1));
    }

    [Test]
    public void Sketch_MaintainedOnInsert_EqualsSymbolsComputedFromLeaves()
    {
        // Arrange: symbols read once (so that they are kept from then on), then enough leaves for the prefix to grow
        // twice, added one by one and deferred
        var index = new MerkleIndex();
        index.Add(new AssertionHash(new byte[AssertionHash.Length]));
        _ = index.BeginSymbols();
        var random = new Random(3);
        var bytes = new byte[AssertionHash.Length];
        for (int i = 0; i < 4_000; i++)
        {
            random.NextBytes(bytes);
            if (i % 2 == 0)
            {
                index.Add(new AssertionHash(bytes));
            }
            else
            {
                index.AddDeferred(new AssertionHash(bytes));
            }

            if (i % 7 == 0)
            {
                index.AddDeferred(new AssertionHash(bytes)); // a repeat changes nothing
            }
        }

        (long version, int count) = index.BeginSymbols();
        int length = index.SketchLength;
        var kept = new CodedSymbol[length + 100];
        var computed = new CodedSymbol[length + 100];

        // Act
        bool read = index.TryGetSymbols(version, 0, kept, out int countThen);
        RibltSketch.Compute(computed, 0, Leaves(index));

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(read, Is.True);
            Assert.That(countThen, Is.EqualTo(count));
            Assert.That(length, Is.GreaterThan(RibltSketch.MinLength));
            Assert.That(kept, Is.EqualTo(computed));
        });
    }

    [Test]
    public void Sketch_ExtendedPastItsCeiling_KeepsTheTargetUpToDate()
    {
        // Arrange: 4,000 leaves (target 1,200 symbols) under a ceiling of 512
        ReconcileTestSets sets = ReconcileTestSets.Create(4_000, 0, seed: 21);
        MerkleIndex index = sets.Local;
        index.SymbolsGrowLength = 512;
        _ = index.BeginSymbols();
        int before = index.SketchLength;

        // Act: a reader needs 600; then 4,000 more leaves arrive (target 2,400, so the prefix doubles)
        bool extended = index.TryExtendSymbols(600);
        int after = index.SketchLength;
        var random = new Random(22);
        var bytes = new byte[AssertionHash.Length];
        for (int i = 0; i < 4_000; i++)
        {
            random.NextBytes(bytes);
            index.AddDeferred(new AssertionHash(bytes));
        }

        (long version, int count) = index.BeginSymbols();
        int grown = index.SketchLength;
        var kept = new CodedSymbol[grown];
        var computed = new CodedSymbol[grown];
        bool read = index.TryGetSymbols(version, 0, kept, out _);
        RibltSketch.Compute(computed, 0, Leaves(index));

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(before, Is.EqualTo(512), "the prefix stops at its ceiling");
            Assert.That(extended, Is.True);
            Assert.That(after, Is.EqualTo(RibltSketch.TargetLength(4_000)), "extended to the set's target at once");
            Assert.That(count, Is.EqualTo(8_000));
            Assert.That(grown, Is.EqualTo(RibltSketch.TargetLength(8_000)), "past the old ceiling, the prefix follows the set");
            Assert.That(read, Is.True);
            Assert.That(kept, Is.EqualTo(computed));
        });
    }

    [Test]
    public void Sketch_ExtendWhenTheCeilingIsNotInTheWay_ChangesNothing()
    {
        // Arrange: 1,000 leaves (target 300) under a ceiling of 512, and 4,000 (target 1,200) under one of 512
        ReconcileTestSets small = ReconcileTestSets.Create(1_000, 0, seed: 23);
        small.Local.SymbolsGrowLength = 512;
        ReconcileTestSets large = ReconcileTestSets.Create(4_000, 0, seed: 24);
        large.Local.SymbolsGrowLength = 512;
        _ = small.Local.BeginSymbols();
        _ = large.Local.BeginSymbols();

        // Act
        bool belowCeiling = small.Local.TryExtendSymbols(301); // past the target of a set below the ceiling
        bool pastTarget = large.Local.TryExtendSymbols(1_201); // past the target of the set
        bool inside = large.Local.TryExtendSymbols(400); // held already
        bool once = large.Local.TryExtendSymbols(1_200);
        int lengthAfterOnce = large.Local.SketchLength;
        var random = new Random(25);
        var bytes = new byte[AssertionHash.Length];
        for (int i = 0; i < 1_000; i++)
        {
            random.NextBytes(bytes);
            large.Local.AddDeferred(new AssertionHash(bytes)); // target 1,500: not yet twice the prefix
        }

        bool again = large.Local.TryExtendSymbols(1_300); // within the target, but the ceiling is lifted once only

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(belowCeiling, Is.False);
            Assert.That(small.Local.SketchLength, Is.EqualTo(300));
            Assert.That(pastTarget, Is.False);
            Assert.That(inside, Is.True);
            Assert.That(once, Is.True);
            Assert.That(lengthAfterOnce, Is.EqualTo(1_200));
            Assert.That(again, Is.False);
            Assert.That(large.Local.SketchLength, Is.EqualTo(1_200));
        });
    }

    [Test]
    public void Sketch_FirstRead_IsMadeFromEveryLeaf()
    {
        // Arrange: a bulk load before any read of the symbols
        ReconcileTestSets sets = ReconcileTestSets.Create(3_000, 0, seed: 8);
        var computed = new CodedSymbol[1_000];
        RibltSketch.Compute(computed, 0, Leaves(sets.Local));
        var read = new CodedSymbol[1_000];

        // Act
        (long version, int count) = sets.Local.BeginSymbols();
        bool ok = sets.Local.TryGetSymbols(version, 0, read, out _);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(ok, Is.True);
            Assert.That(count, Is.EqualTo(3_000));
            Assert.That(read, Is.EqualTo(computed));
        });
    }

    [Test]
    public void Sketch_LeavesAddedSinceSnapshot_AreTakenBackOut()
    {
        // Arrange
        ReconcileTestSets sets = ReconcileTestSets.Create(500, 0, seed: 9);
        MerkleIndex index = sets.Local;
        (long version, _) = index.BeginSymbols();
        var before = new CodedSymbol[600];
        RibltSketch.Compute(before, 0, Leaves(index));
        var random = new Random(10);
        var bytes = new byte[AssertionHash.Length];
        for (int i = 0; i < 50; i++)
        {
            random.NextBytes(bytes);
            index.Add(new AssertionHash(bytes));
        }

        var read = new CodedSymbol[600];

        // Act
        bool ok = index.TryGetSymbols(version, 0, read, out int countThen);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(ok, Is.True);
            Assert.That(countThen, Is.EqualTo(500));
            Assert.That(read, Is.EqualTo(before));
        });
    }

    [Test]
    public void Sketch_MoreLeavesSinceSnapshotThanTheJournal_ReadFails()
    {
        // Arrange
        var index = new MerkleIndex();
        (long version, _) = index.BeginSymbols();
        var random = new Random(11);
        var bytes = new byte[AssertionHash.Length];
        for (int i = 0; i <= RibltSketch.JournalLength; i++)
        {
            random.NextBytes(bytes);
            index.Add(new AssertionHash(bytes));
        }

        // Act
        bool ok = index.TryGetSymbols(version, 0, new CodedSymbol[8], out _);

        // Assert
        Assert.That(ok, Is.False);
    }

    [Test]
    public void Walk_FirstIndices_MatchTheProtocolVector()
    {
        // Arrange: the leaf of the test vector in docs/PROTOCOL.md, bytes 0x00..0x1f
        var leaf = new AssertionHash(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        ulong mix = RibltHash.Mix(leaf.W0, leaf.W1, leaf.W2, leaf.W3);
        var walk = new SymbolWalk(mix);
        var indices = new List<ulong>();

        // Act
        while (walk.Index < 1_000)
        {
            indices.Add(walk.Index);
            walk.Next();
        }

        // Assert
        TestContext.Out.WriteLine($"mix {mix:x16} checksum {RibltHash.Checksum(mix):x8} indices {string.Join(",", indices)}");
        Assert.Multiple(() =>
        {
            Assert.That(mix, Is.EqualTo(ProtocolVectorMix));
            Assert.That(indices, Is.EqualTo(ProtocolVectorIndices));
        });
    }

    [Test]
    public void Walk_ManyLeaves_HitIndexWithDensityNearOneOverOnePlusHalfIndex()
    {
        // Arrange
        const int Leaves = 20_000;
        var hits = new int[64];
        var random = new Random(12);
        var bytes = new byte[AssertionHash.Length];

        // Act
        for (int n = 0; n < Leaves; n++)
        {
            random.NextBytes(bytes);
            var leaf = new AssertionHash(bytes);
            var walk = new SymbolWalk(RibltHash.Mix(leaf.W0, leaf.W1, leaf.W2, leaf.W3));
            while (walk.Index < (ulong)hits.Length)
            {
                hits[walk.Index]++;
                walk.Next();
            }
        }

        // Assert
        Assert.Multiple(() =>
        {
            foreach (int i in new[] { 0, 1, 2, 10, 63 })
            {
                double expected = Leaves / (1 + (i / 2.0));
                Assert.That(hits[i], Is.EqualTo(expected).Within(expected * 0.1), $"index {i}");
            }
        });
    }

    [Test]
    public void Codec_RoundTrip_IsBitForBit()
    {
        // Arrange
        var random = new Random(13);
        var symbols = new CodedSymbol[200];
        for (int i = 0; i < symbols.Length; i++)
        {
            symbols[i] = new CodedSymbol
            {
                S0 = (ulong)random.NextInt64(), S1 = (ulong)random.NextInt64(), S2 = (ulong)random.NextInt64(), S3 = ulong.MaxValue,
                Check = (uint)random.Next(),
                Count = i switch { 0 => 0, 1 => int.MaxValue, 2 => 127, 3 => 128, _ => random.Next() >> (i % 31) },
            };
        }

        // Act
        byte[] bytes = CodedSymbolCodec.Encode(symbols);
        var decoded = new CodedSymbol[symbols.Length];
        bool ok = CodedSymbolCodec.TryDecode(bytes, decoded, out string? error);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(ok, Is.True, error);
            Assert.That(decoded, Is.EqualTo(symbols));
            Assert.That(CodedSymbolCodec.Encode(decoded), Is.EqualTo(bytes));
        });
    }

    [Test]
    public void Codec_KnownSymbol_HasTheProtocolBytes()
    {
        // Arrange: docs/PROTOCOL.md's vector, the symbol of the one leaf 0x00..0x1f
        var leaf = new AssertionHash(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        var symbols = new CodedSymbol[1];
        RibltSketch.Compute(symbols, 0, [leaf]);

        // Act
        byte[] bytes = CodedSymbolCodec.Encode(symbols);

        // Assert
        Assert.That(Convert.ToHexString(bytes).ToLowerInvariant(), Is.EqualTo(ProtocolVectorSymbolHex));
    }

    [TestCase(0, 1, "cut short")]
    [TestCase(36, 1, "cut short")]
    [TestCase(37, 2, "cut short")]
    [TestCase(38, 1, "follow")]
    public void Codec_WrongLength_FailsCleanly(int length, int symbols, string expected)
    {
        // Arrange
        byte[] bytes = new byte[length];

        // Act
        bool ok = CodedSymbolCodec.TryDecode(bytes, new CodedSymbol[symbols], out string? error);

        // Assert
        Assert.That(ok, Is.False);
        Assert.That(error, Does.Contain(expected));
    }

    [TestCase(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 }, "exceeds")]
    [TestCase(new byte[] { 0x80, 0x80, 0x80, 0x80 }, "cut short")]
    [TestCase(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x08 }, "exceeds")]
    [TestCase(new byte[] { 0x80 }, "cut short")]
    [TestCase(new byte[] { 0x80, 0x00 }, "overlong")]
    public void Codec_BadCount_FailsCleanly(byte[] count, string expected)
    {
        // Arrange
        byte[] bytes = new byte[CodedSymbolCodec.FixedBytes + count.Length];
        count.CopyTo(bytes, CodedSymbolCodec.FixedBytes);

        // Act
        bool ok = CodedSymbolCodec.TryDecode(bytes, new CodedSymbol[1], out string? error);

        // Assert
        Assert.That(ok, Is.False);
        Assert.That(error, Does.Contain(expected));
    }

    [Test]
    public void Decoder_CountsThatNeverPeel_NeedMoreUntilTheLimit()
    {
        // Arrange: symbols whose counts are all 2, so nothing is ever pure
        var decoder = new RibltDecoder(1_000);
        var remote = new CodedSymbol[100];
        var local = new CodedSymbol[100];
        for (int i = 0; i < local.Length; i++)
        {
            local[i].Count = 2;
            local[i].S0 = (ulong)i + 1;
        }

        // Act
        RibltDecodeStatus status = RibltDecodeStatus.NeedMore;
        for (int round = 0; round < 10; round++)
        {
            status = decoder.Add(remote, local);
        }

        // Assert
        Assert.That(status, Is.EqualTo(RibltDecodeStatus.NeedMore));
        Assert.That(decoder.DecodedCount, Is.Zero);
        Assert.Throws<ArgumentException>(() => decoder.Add(remote, local));
    }

    [Test]
    public void Decoder_ChecksumsThatLie_DecodeNothing()
    {
        // Arrange: count 1 everywhere, but checksums that are not those of the sums
        var decoder = new RibltDecoder(1_000);
        var remote = new CodedSymbol[200];
        var local = new CodedSymbol[200];
        for (int i = 0; i < local.Length; i++)
        {
            local[i] = new CodedSymbol { S0 = (ulong)i * 77, S1 = 5, Check = 0xDEADBEEF, Count = 1 };
        }

        // Act
        RibltDecodeStatus status = decoder.Add(remote, local);

        // Assert
        Assert.That(status, Is.EqualTo(RibltDecodeStatus.NeedMore));
        Assert.That(decoder.DecodedCount, Is.Zero);
    }

    [Test]
    public void Decoder_CraftedSymbols_NeverDecodeALeafTwice()
    {
        // Arrange: one leaf's honest symbols, except that one of them says "nothing, count 2": once the leaf is peeled
        // from symbol 0 that symbol looks pure with the same leaf again
        var leaf = new AssertionHash(Enumerable.Range(0, 32).Select(i => (byte)(i * 5)).ToArray());
        var symbols = new CodedSymbol[64];
        RibltSketch.Compute(symbols, 0, [leaf]);
        int crafted = Array.FindLastIndex(symbols, symbol => !symbol.IsEmpty);
        symbols[crafted] = new CodedSymbol { Count = 2 };
        var decoder = new RibltDecoder(1_000);

        // Act
        RibltDecodeStatus status = decoder.Add(new CodedSymbol[64], symbols);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(crafted, Is.GreaterThan(0));
            Assert.That(status, Is.EqualTo(RibltDecodeStatus.Failed));
            Assert.That(decoder.Add(new CodedSymbol[1], new CodedSymbol[1]), Is.EqualTo(RibltDecodeStatus.Failed));
        });
    }

    [Test]
    public void Decoder_PureLookingSymbolsAtIndicesTheLeafDoesNotMapTo_AreNotPeeled()
    {
        // Arrange: a valid leaf, checksum and count 1 put in symbols its walk skips
        var leaf = new AssertionHash(Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray());
        ulong mix = RibltHash.Mix(leaf.W0, leaf.W1, leaf.W2, leaf.W3);
        var symbols = new CodedSymbol[256];
        int planted = 0;
        for (int i = 1; i < symbols.Length; i++)
        {
            if (!SymbolWalk.Maps(mix, (ulong)i))
            {
                symbols[i] = new CodedSymbol { S0 = leaf.W0, S1 = leaf.W1, S2 = leaf.W2, S3 = leaf.W3, Check = RibltHash.Checksum(mix), Count = -1 };
                planted++;
            }
        }

        symbols[0].Count = 3;
        var decoder = new RibltDecoder(1_000);

        // Act
        RibltDecodeStatus status = decoder.Add(new CodedSymbol[256], symbols);

        // Assert
        Assert.That(planted, Is.GreaterThan(100));
        Assert.That(status, Is.EqualTo(RibltDecodeStatus.NeedMore));
        Assert.That(decoder.DecodedCount, Is.Zero);
    }

    [Test]
    public void Decoder_MismatchedSpans_Throw()
    {
        var decoder = new RibltDecoder(10);
        Assert.Throws<ArgumentException>(() => decoder.Add(new CodedSymbol[2], new CodedSymbol[3]));
        Assert.Throws<ArgumentException>(() => decoder.Add(new CodedSymbol[11], new CodedSymbol[11]));
    }

    private const ulong ProtocolVectorMix = 0xf33b681daee8f9d3;

    private static readonly ulong[] ProtocolVectorIndices = [0, 7, 8, 41, 45, 374, 422, 446, 540, 696, 744];

    private const string ProtocolVectorSymbolHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" + "f33b681d" + "01";

    private static List<AssertionHash> Leaves(MerkleIndex index) => index.GetLeaves(null, int.MaxValue).ToList();
}
