using System;
using StemeDb.Sync.Hosting.Internal;

namespace StemeDb.Sync.Hosting.Tests;

/// <summary>The DNS wire format of SRV lookups against answers built field by field.</summary>
[TestFixture]
public sealed class DnsMessageTests
{
    private const ushort Id = 0x1234;
    private const string Name = "_grpc._tcp.stemedb.default.svc.cluster.local";
    private const int QuestionName = 12; // the question's name follows the header

    [Test]
    public void Query_Name_IsTheHeaderAndTheQuestionInWireFormat()
    {
        byte[] query = DnsMessage.Query(Id, "_a._tcp.b.", DnsMessage.TypeSrv);

        byte[] expected =
        [
            0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
            2, (byte)'_', (byte)'a', 4, (byte)'_', (byte)'t', (byte)'c', (byte)'p', 1, (byte)'b', 0,
            0, 33, 0, 1,
        ];
        Assert.That(query, Is.EqualTo(expected));
    }

    [TestCase("a..b")]
    [TestCase("a b.c")]
    public void Query_NotADnsName_Throws(string name)
    {
        Assert.That(() => DnsMessage.Query(Id, name, DnsMessage.TypeSrv), Throws.TypeOf<DnsException>().With.Message.Contains(name));
    }

    [Test]
    public void Query_NameLongerThan255Bytes_Throws()
    {
        string name = string.Join('.', new string('a', 63), new string('b', 63), new string('c', 63), new string('d', 63));

        Assert.That(() => DnsMessage.Query(Id, name, DnsMessage.TypeSrv), Throws.TypeOf<DnsException>().With.Message.Contains("255"));
    }

    [Test]
    public void ReadSrvAnswer_TwoRecordsWithCompressedOwners_ReadsThem()
    {
        byte[] answer = DnsPacket.Response(Id, 1, 2).SrvQuestion(Name)
            .Srv(QuestionName, 0, 50, 5000, "stemedb-0.stemedb.default.svc.cluster.local")
            .Srv(QuestionName, 1, 50, 5001, "stemedb-1.stemedb.default.svc.cluster.local")
            .ToArray();

        DnsAnswer read = DnsMessage.ReadSrvAnswer(answer, Id, Name);

        Assert.That(read.ResponseCode, Is.Zero);
        Assert.That(read.Truncated, Is.False);
        Assert.That(read.Records, Is.EqualTo(new[]
        {
            new SrvRecord(0, 50, 5000, "stemedb-0.stemedb.default.svc.cluster.local"),
            new SrvRecord(1, 50, 5001, "stemedb-1.stemedb.default.svc.cluster.local"),
        }));
    }

    [Test]
    public void ReadSrvAnswer_TargetCompressedIntoTheQuestion_ReadsTheWholeName()
    {
        // The question's name ends with "stemedb.default.svc.cluster.local", which starts after "_grpc" and "_tcp".
        int suffix = QuestionName + 1 + "_grpc".Length + 1 + "_tcp".Length;
        DnsPacket packet = DnsPacket.Response(Id, 1, 1).SrvQuestion(Name);
        packet.Pointer(QuestionName).RecordFields(33, 6 + 10 + 2).UInt16(0).UInt16(0).UInt16(5000).Labels("stemedb-0").Pointer(suffix);

        DnsAnswer read = DnsMessage.ReadSrvAnswer(packet.ToArray(), Id, Name);

        Assert.That(read.Records, Is.EqualTo(new[] { new SrvRecord(0, 0, 5000, "stemedb-0.stemedb.default.svc.cluster.local") }));
    }

    [Test]
    public void ReadSrvAnswer_ThroughACname_ReadsTheAliasRecordsAndIgnoresOthers()
    {
        DnsPacket packet = DnsPacket.Response(Id, 1, 3).SrvQuestion(Name);
        packet.Pointer(QuestionName).RecordFields(5, 10).Name("_x.alias");
        int alias = packet.Length - 10;
        packet.Srv(alias, 0, 0, 5000, "a.example")
            .Name("other.example").RecordFields(33, 6 + 11).UInt16(0).UInt16(0).UInt16(6000).Name("b.example");

        DnsAnswer read = DnsMessage.ReadSrvAnswer(packet.ToArray(), Id, Name);

        Assert.That(read.Records, Is.EqualTo(new[] { new SrvRecord(0, 0, 5000, "a.example") }));
    }

    [Test]
    public void ReadSrvAnswer_RootTarget_IsAnEmptyTarget()
    {
        byte[] answer = DnsPacket.Response(Id, 1, 1).SrvQuestion(Name).Srv(QuestionName, 0, 0, 0, string.Empty).ToArray();

        Assert.That(DnsMessage.ReadSrvAnswer(answer, Id, Name).Records, Is.EqualTo(new[] { new SrvRecord(0, 0, 0, string.Empty) }));
    }

    [Test]
    public void ReadSrvAnswer_NameError_IsResponseCode3WithoutRecords()
    {
        byte[] answer = DnsPacket.Response(Id, 1, 0, responseCode: 3).SrvQuestion(Name).ToArray();

        DnsAnswer read = DnsMessage.ReadSrvAnswer(answer, Id, Name);

        Assert.That(read.ResponseCode, Is.EqualTo(3));
        Assert.That(read.Records, Is.Empty);
    }

    [Test]
    public void ReadSrvAnswer_TruncatedBitSet_ReportsTruncatedWithoutReadingFurther()
    {
        byte[] answer = DnsPacket.Response(Id, 1, 5, truncated: true).SrvQuestion(Name).ToArray(); // the records are cut off

        DnsAnswer read = DnsMessage.ReadSrvAnswer(answer, Id, Name);

        Assert.That(read.Truncated, Is.True);
        Assert.That(read.Records, Is.Empty);
    }

    [Test]
    public void ReadSrvAnswer_WrongId_Throws()
    {
        byte[] answer = DnsPacket.Response((ushort)(Id + 1), 1, 1).SrvQuestion(Name).Srv(QuestionName, 0, 0, 5000, "a.example").ToArray();

        Assert.That(() => DnsMessage.ReadSrvAnswer(answer, Id, Name), Throws.TypeOf<DnsException>().With.Message.Contains("ID 4661").And.Message.Contains("4660"));
    }

    [Test]
    public void ReadSrvAnswer_AnotherQuestion_Throws()
    {
        byte[] answer = DnsPacket.Response(Id, 1, 1).SrvQuestion("_grpc._tcp.evil.example").Srv(QuestionName, 0, 0, 5000, "a.example").ToArray();

        Assert.That(() => DnsMessage.ReadSrvAnswer(answer, Id, Name), Throws.TypeOf<DnsException>().With.Message.Contains("evil.example"));
    }

    [Test]
    public void ReadSrvAnswer_QuestionOfAnotherType_Throws()
    {
        byte[] answer = DnsPacket.Response(Id, 1, 0).Name(Name).UInt16(1).UInt16(1).ToArray();

        Assert.That(() => DnsMessage.ReadSrvAnswer(answer, Id, Name), Throws.TypeOf<DnsException>().With.Message.Contains("type 1"));
    }

    [Test]
    public void ReadSrvAnswer_AQuery_Throws()
    {
        byte[] answer = new DnsPacket().UInt16(Id).UInt16(0x0100).UInt16(1).UInt16(0).UInt16(0).UInt16(0).SrvQuestion(Name).ToArray();

        Assert.That(() => DnsMessage.ReadSrvAnswer(answer, Id, Name), Throws.TypeOf<DnsException>().With.Message.Contains("QR"));
    }

    [Test]
    public void ReadSrvAnswer_PointerToItself_ThrowsInsteadOfLooping()
    {
        DnsPacket packet = DnsPacket.Response(Id, 1, 1).SrvQuestion(Name);
        int owner = packet.Length;
        packet.Pointer(owner).RecordFields(33, 8).UInt16(0).UInt16(0).UInt16(5000).Pointer(QuestionName);

        Assert.That(() => DnsMessage.ReadSrvAnswer(packet.ToArray(), Id, Name), Throws.TypeOf<DnsException>().With.Message.Contains("loop"));
    }

    [Test]
    public void ReadSrvAnswer_TwoPointersToEachOther_ThrowsInsteadOfLooping()
    {
        // The target is a pointer to the owner name, which points forward to the target: a loop of two pointers.
        DnsPacket packet = DnsPacket.Response(Id, 1, 1).SrvQuestion(Name);
        int owner = packet.Length;
        int target = owner + 2 + 10 + 6;
        packet.Pointer(target).RecordFields(33, 8).UInt16(0).UInt16(0).UInt16(5000).Pointer(owner);

        Assert.That(() => DnsMessage.ReadSrvAnswer(packet.ToArray(), Id, Name), Throws.TypeOf<DnsException>().With.Message.Contains("loop"));
    }

    [Test]
    public void ReadSrvAnswer_LabelsRepeatedByABackwardPointer_ThrowsOnTheNameLength()
    {
        // A label followed by a pointer back to that label: every pointer is backward, yet the name never ends.
        DnsPacket packet = DnsPacket.Response(Id, 1, 1).SrvQuestion(Name);
        packet.Pointer(QuestionName).RecordFields(33, 6 + 4 + 2).UInt16(0).UInt16(0).UInt16(5000);
        int label = packet.Length;
        packet.Labels("abc").Pointer(label);

        Assert.That(() => DnsMessage.ReadSrvAnswer(packet.ToArray(), Id, Name), Throws.TypeOf<DnsException>().With.Message.Contains("255"));
    }

    [Test]
    public void ReadSrvAnswer_PointerIntoTheHeader_Throws()
    {
        DnsPacket packet = DnsPacket.Response(Id, 1, 1).SrvQuestion(Name);
        packet.Pointer(2).RecordFields(33, 8).UInt16(0).UInt16(0).UInt16(5000).Pointer(QuestionName);

        Assert.That(() => DnsMessage.ReadSrvAnswer(packet.ToArray(), Id, Name), Throws.TypeOf<DnsException>().With.Message.Contains("header"));
    }

    [Test]
    public void ReadSrvAnswer_EveryTruncation_ThrowsADnsException()
    {
        byte[] whole = DnsPacket.Response(Id, 1, 2).SrvQuestion(Name)
            .Srv(QuestionName, 0, 0, 5000, "a.example")
            .Srv(QuestionName, 0, 0, 5001, "b.example")
            .ToArray();
        Assert.That(DnsMessage.ReadSrvAnswer(whole, Id, Name).Records, Has.Count.EqualTo(2), "the whole answer is valid");

        for (int length = 0; length < whole.Length; length++)
        {
            byte[] cut = whole[..length];
            Assert.That(() => DnsMessage.ReadSrvAnswer(cut, Id, Name), Throws.TypeOf<DnsException>(), $"cut at {length} bytes");
        }
    }

    [Test]
    public void ReadSrvAnswer_DataLengthBeyondTheMessage_Throws()
    {
        byte[] answer = DnsPacket.Response(Id, 1, 1).SrvQuestion(Name).Pointer(QuestionName).RecordFields(33, 200).UInt16(0).UInt16(0).UInt16(5000).Name("a.example").ToArray();

        Assert.That(() => DnsMessage.ReadSrvAnswer(answer, Id, Name), Throws.TypeOf<DnsException>().With.Message.Contains("claims 200 bytes"));
    }

    [Test]
    public void ReadSrvAnswer_TargetRunningPastItsData_Throws()
    {
        // The data length covers priority, weight, port and 3 bytes of a longer target name.
        byte[] answer = DnsPacket.Response(Id, 1, 1).SrvQuestion(Name).Pointer(QuestionName).RecordFields(33, 9).UInt16(0).UInt16(0).UInt16(5000).Name("a.example").ToArray();

        Assert.That(() => DnsMessage.ReadSrvAnswer(answer, Id, Name), Throws.TypeOf<DnsException>().With.Message.Contains("runs past"));
    }

    [Test]
    public void ReadSrvAnswer_BytesAfterTheTarget_Throws()
    {
        byte[] answer = DnsPacket.Response(Id, 1, 1).SrvQuestion(Name).Pointer(QuestionName).RecordFields(33, 6 + 11 + 1).UInt16(0).UInt16(0).UInt16(5000).Name("a.example").Byte(7).ToArray();

        Assert.That(() => DnsMessage.ReadSrvAnswer(answer, Id, Name), Throws.TypeOf<DnsException>().With.Message.Contains("after its target"));
    }

    [Test]
    public void ReadSrvAnswer_TargetWithAByteNotInAHostName_Throws()
    {
        byte[] answer = DnsPacket.Response(Id, 1, 1).SrvQuestion(Name).Pointer(QuestionName).RecordFields(33, 6 + 5).UInt16(0).UInt16(0).UInt16(5000)
            .Byte(3).Byte((byte)'a').Byte(0x0A).Byte((byte)'b').Root().ToArray();

        Assert.That(() => DnsMessage.ReadSrvAnswer(answer, Id, Name), Throws.TypeOf<DnsException>().With.Message.Contains("0x0a"));
    }

    [Test]
    public void ReadSrvAnswer_ExtendedLabelType_Throws()
    {
        byte[] answer = DnsPacket.Response(Id, 1, 1).SrvQuestion(Name).Pointer(QuestionName).RecordFields(33, 8).UInt16(0).UInt16(0).UInt16(5000)
            .Byte(0x41).Byte(0).ToArray();

        Assert.That(() => DnsMessage.ReadSrvAnswer(answer, Id, Name), Throws.TypeOf<DnsException>().With.Message.Contains("neither a label length nor a compression pointer"));
    }

    [Test]
    public void ReadSrvAnswer_SeededMutations_ReadOrThrowOnlyDnsException()
    {
        int suffix = QuestionName + 1 + "_grpc".Length + 1 + "_tcp".Length;
        DnsPacket packet = DnsPacket.Response(Id, 1, 3).SrvQuestion(Name);
        packet.Pointer(QuestionName).RecordFields(5, 10).Name("_x.alias");
        packet.Srv(QuestionName, 0, 0, 5000, "a.example")
            .Pointer(QuestionName).RecordFields(33, 6 + 10 + 2).UInt16(0).UInt16(0).UInt16(5001).Labels("stemedb-0").Pointer(suffix);
        byte[] valid = packet.ToArray();
        var random = new Random(20261202);
        int read = 0;

        for (int i = 0; i < 20_000; i++)
        {
            byte[] mutated = (byte[])valid.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            byte[] input = random.Next(4) == 0 ? mutated[..random.Next(mutated.Length)] : mutated;
            try
            {
                DnsAnswer answer = DnsMessage.ReadSrvAnswer(input, Id, Name);
                Assert.That(answer.Records, Has.All.Matches<SrvRecord>(r => r.Target.Length == 0 || Uri.CheckHostName(r.Target) == UriHostNameType.Dns));
                read++;
            }
            catch (DnsException)
            {
                // A clear rejection.
            }
        }

        Assert.That(read, Is.GreaterThan(0), "some mutations (in a TTL, a weight) still read");
    }
}
