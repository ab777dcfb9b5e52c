using System.Collections.Generic;
using System.Linq;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Reference = Stemedb.Sync.V1;

namespace StemeDb.Sync.Grpc.Tests.V1Reference;

/// <summary>
/// <c>proto/sync.proto</c> against the original v1 contract (<c>test/reference/stemedb-v1-sync.proto</c>, compiled
/// into this assembly unchanged): every v1 message, field (name, number, type, label) and RPC must be identical;
/// extensions may only add fields and RPCs.
/// </summary>
[TestFixture]
public class V1ContractTests
{
    private static FileDescriptor ReferenceFile => Reference.StemedbV1SyncReflection.Descriptor;

    private static FileDescriptor OurFile => V1.SyncReflection.Descriptor;

    [Test]
    public void OurProto_AgainstReference_EveryV1ElementIdentical()
    {
        IReadOnlyList<string> differences = V1Contract.Compare(ReferenceFile, OurFile);

        Assert.That(differences, Is.Empty, string.Join("\n", differences));
    }

    [Test]
    public void Reference_CoversTheWholeV1Surface()
    {
        // Guards the comparison itself: it walks these, so a reference that compiled to nothing would pass vacuously.
        Assert.That(ReferenceFile.Package, Is.EqualTo("stemedb.sync.v1"));
        Assert.That(ReferenceFile.MessageTypes.Select(m => m.Name), Is.EquivalentTo(new[]
        {
            "GossipRequest", "GossipResponse", "RootExchangeRequest", "RootExchangeResponse", "FetchRequest",
            "FetchResponse", "AssertionData", "PingRequest", "PingResponse", "GetLeavesRequest", "GetLeavesResponse",
        }));
        Assert.That(ReferenceFile.Services.Single().Methods.Select(m => m.Name), Is.EquivalentTo(new[]
        {
            "Gossip", "ExchangeRoots", "FetchAssertions", "Ping", "GetLeaves",
        }));
        Assert.That(ReferenceFile.MessageTypes.Sum(m => m.Fields.InDeclarationOrder().Count), Is.EqualTo(22));
    }

    [TestCase("GetLeavesRequest", "max_leaves", "type")]
    [TestCase("AssertionData", "data", "name")]
    [TestCase("FetchRequest", "hashes", "label")]
    [TestCase("PingResponse", "assertion_count", "number")]
    [TestCase("GossipRequest", "hlc_node_id", "removed")]
    public void Compare_OneV1FieldDrifts_Reported(string message, string field, string drift)
    {
        FileDescriptorProto proto = FileDescriptorProto.Parser.ParseFrom(OurFile.SerializedData);
        DescriptorProto target = proto.MessageType.Single(m => m.Name == message);
        FieldDescriptorProto f = target.Field.Single(x => x.Name == field);
        switch (drift)
        {
            case "type":
                f.Type = FieldDescriptorProto.Types.Type.Uint32;
                break;
            case "name":
                f.Name = "payload";
                f.JsonName = "payload";
                break;
            case "label":
                f.Label = FieldDescriptorProto.Types.Label.Optional;
                break;
            case "number":
                f.Number = 7;
                break;
            default:
                target.Field.Remove(f);
                break;
        }

        IReadOnlyList<string> differences = V1Contract.Compare(ReferenceFile, Build(proto));

        Assert.That(differences, Has.Some.Contains($"{message}.{field}"));
    }

    [Test]
    public void Compare_V1RpcChanged_Reported()
    {
        FileDescriptorProto proto = FileDescriptorProto.Parser.ParseFrom(OurFile.SerializedData);
        MethodDescriptorProto fetch = proto.Service.Single().Method.Single(m => m.Name == "FetchAssertions");
        fetch.OutputType = ".stemedb.sync.v1.GossipResponse";
        proto.Service.Single().Method.Remove(proto.Service.Single().Method.Single(m => m.Name == "Ping"));

        IReadOnlyList<string> differences = V1Contract.Compare(ReferenceFile, Build(proto));

        Assert.That(differences, Has.Some.Contains("FetchAssertions"));
        Assert.That(differences, Has.Some.Contains("Ping"));
    }

    private static FileDescriptor Build(FileDescriptorProto proto)
    {
        proto.Name = "drifted.proto"; // a distinct file name, so it cannot clash with the generated one
        return FileDescriptor.BuildFromByteStrings(new[] { proto.ToByteString() }).Single();
    }
}

/// <summary>Compares a contract with the v1 reference: what v1 defines must be in it, unchanged.</summary>
internal static class V1Contract
{
    public static IReadOnlyList<string> Compare(FileDescriptor reference, FileDescriptor candidate)
    {
        var differences = new List<string>();
        if (candidate.Package != reference.Package)
        {
            differences.Add($"package is '{candidate.Package}', not '{reference.Package}'");
        }

        foreach (MessageDescriptor expected in reference.MessageTypes)
        {
            MessageDescriptor? actual = candidate.MessageTypes.SingleOrDefault(m => m.Name == expected.Name);
            if (actual is null)
            {
                differences.Add($"message {expected.Name} is missing");
                continue;
            }

            foreach (FieldDescriptor field in expected.Fields.InDeclarationOrder())
            {
                string name = $"{expected.Name}.{field.Name}";
                FieldDescriptor? byNumber = actual.FindFieldByNumber(field.FieldNumber);
                FieldDescriptor? byName = actual.FindFieldByName(field.Name);
                if (byNumber is null || byName is null)
                {
                    differences.Add($"{name} (= {field.FieldNumber}) is missing or renumbered");
                    continue;
                }

                if (byNumber.Name != field.Name)
                {
                    differences.Add($"{name}: field {field.FieldNumber} is named '{byNumber.Name}'");
                }

                if (byNumber.FieldType != field.FieldType)
                {
                    differences.Add($"{name}: type {byNumber.FieldType}, not {field.FieldType}");
                }

                if (byNumber.IsRepeated != field.IsRepeated || byNumber.ToProto().Label != field.ToProto().Label)
                {
                    differences.Add($"{name}: label {byNumber.ToProto().Label}, not {field.ToProto().Label}");
                }

                if (field.FieldType == FieldType.Message && byNumber.FieldType == FieldType.Message
                    && byNumber.MessageType.FullName != field.MessageType.FullName)
                {
                    differences.Add($"{name}: message type {byNumber.MessageType.FullName}, not {field.MessageType.FullName}");
                }
            }
        }

        foreach (ServiceDescriptor expected in reference.Services)
        {
            ServiceDescriptor? actual = candidate.Services.SingleOrDefault(s => s.FullName == expected.FullName);
            if (actual is null)
            {
                differences.Add($"service {expected.FullName} is missing");
                continue;
            }

            foreach (MethodDescriptor method in expected.Methods)
            {
                MethodDescriptor? other = actual.FindMethodByName(method.Name);
                if (other is null)
                {
                    differences.Add($"rpc {method.Name} is missing");
                    continue;
                }

                if (other.InputType.FullName != method.InputType.FullName || other.OutputType.FullName != method.OutputType.FullName)
                {
                    differences.Add($"rpc {method.Name}: ({other.InputType.FullName}) returns ({other.OutputType.FullName}), not ({method.InputType.FullName}) returns ({method.OutputType.FullName})");
                }

                if (other.IsClientStreaming != method.IsClientStreaming || other.IsServerStreaming != method.IsServerStreaming)
                {
                    differences.Add($"rpc {method.Name}: streaming differs");
                }
            }
        }

        return differences;
    }
}
