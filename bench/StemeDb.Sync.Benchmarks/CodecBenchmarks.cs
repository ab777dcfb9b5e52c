using System;
using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Google.Protobuf;
using StemeDb.Sync.Benchmarks.Protos;

namespace StemeDb.Sync.Benchmarks;

/// <summary>
/// The rkyv codec against Google.Protobuf on the same content: encode vs serialize, and validate / validate + field
/// access / full decode vs parse. Ratios are per category, with protobuf as the baseline.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 20)]
public class CodecBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);
    private Assertion _assertion = null!;
    private BenchAssertion _message = null!;
    private byte[] _rkyv = [];
    private byte[] _protobuf = [];

    /// <summary>The sample: a typical text assertion, or one with a 1 KiB bytes value and many tags.</summary>
    [Params("typical", "bytes-1k")]
    public string Sample { get; set; } = "typical";

    [GlobalSetup]
    public void Setup()
    {
        _assertion = Sample == "typical" ? Typical() : Large();
        _message = ToMessage(_assertion);
        _rkyv = AssertionCodec.Encode(_assertion);
        _protobuf = _message.ToByteArray();
        if (!AssertionCodec.Decode(_rkyv).Equals(_assertion) || !BenchAssertion.Parser.ParseFrom(_protobuf).Equals(_message))
        {
            throw new InvalidOperationException("The samples do not round-trip.");
        }
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Encode")]
    public int Protobuf_Serialize()
    {
        _output.ResetWrittenCount();
        _message.WriteTo(_output);
        return _output.WrittenCount;
    }

    [Benchmark, BenchmarkCategory("Encode")]
    public int Rkyv_Encode()
    {
        _output.ResetWrittenCount();
        return AssertionCodec.Encode(_assertion, _output);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Decode")]
    public BenchAssertion Protobuf_Parse() => BenchAssertion.Parser.ParseFrom(_protobuf);

    [Benchmark, BenchmarkCategory("Decode")]
    public bool Rkyv_Validate() => AssertionCodec.TryValidate(_rkyv, out _);

    [Benchmark, BenchmarkCategory("Decode")]
    public long Rkyv_ValidateAndAccess()
    {
        if (!ArchivedAssertion.TryAccess(_rkyv, out ArchivedAssertion view, out _))
        {
            return -1;
        }

        long sum = view.Subject.Length + view.Predicate.Length + (long)view.Hlc.Time + view.Hlc.Counter;
        ArchivedAssertionValue value = view.Object;
        sum += value.Kind switch
        {
            AssertionValueKind.Text => value.AsText().Length,
            AssertionValueKind.Bytes => value.AsBytes().Length,
            _ => 0,
        };
        sum += view.Author.GetHashCode() + (view.Confidence.HasValue ? 1 : 0) + (view.Supersedes.HasValue ? 1 : 0);
        foreach (ReadOnlySpan<byte> tag in view.Tags)
        {
            sum += tag.Length;
        }

        return sum;
    }

    [Benchmark, BenchmarkCategory("Decode")]
    public Assertion Rkyv_Decode() => AssertionCodec.Decode(_rkyv);

    private static Assertion Typical() => new(
        "user:42",
        "email",
        AssertionValue.FromText("alice@example.com"),
        new HlcTimestamp(1_700_000_000_000, 3, NodeId.Parse("0123456789abcdef0123456789abcdef")),
        NodeId.Parse("fedcba9876543210fedcba9876543210"),
        0.75f,
        AssertionHash.Compute(Encoding.UTF8.GetBytes("previous")),
        ["verified", "imported-from-crm"]);

    private static Assertion Large()
    {
        byte[] payload = new byte[1024];
        new Random(42).NextBytes(payload);
        return new Assertion(
            "document:2f6c1a90-5d7e-4b1e-9c41-3a8b2e9d0f17",
            "thumbnail_png",
            AssertionValue.FromBytes(payload),
            new HlcTimestamp(1_700_000_123_456, 17, NodeId.Parse("0123456789abcdef0123456789abcdef")),
            NodeId.Parse("fedcba9876543210fedcba9876543210"),
            null,
            null,
            ["media", "image/png", "generated", "size:1024", "source:upload-service", "retention:90d", "owner:team-docs", "v2"]);
    }

    private static BenchAssertion ToMessage(Assertion a)
    {
        var value = new BenchValue();
        switch (a.Object.Kind)
        {
            case AssertionValueKind.Null: value.Null = true; break;
            case AssertionValueKind.Bool: value.BoolValue = a.Object.AsBool(); break;
            case AssertionValueKind.Int: value.IntValue = a.Object.AsInt(); break;
            case AssertionValueKind.Float: value.FloatValue = a.Object.AsFloat(); break;
            case AssertionValueKind.Text: value.Text = a.Object.AsText(); break;
            case AssertionValueKind.Bytes: value.Bytes = ByteString.CopyFrom(a.Object.AsBytes().Span); break;
            default: value.Ref = ByteString.CopyFrom(a.Object.AsRef().ToArray()); break;
        }

        var message = new BenchAssertion
        {
            Subject = a.Subject,
            Predicate = a.Predicate,
            Object = value,
            Hlc = new BenchHlc { Time = a.Hlc.Time, Counter = a.Hlc.Counter, NodeId = ByteString.CopyFrom(a.Hlc.NodeId.ToArray()) },
            Author = ByteString.CopyFrom(a.Author.ToArray()),
        };
        if (a.Confidence is float confidence)
        {
            message.Confidence = confidence;
        }

        if (a.Supersedes is AssertionHash supersedes)
        {
            message.Supersedes = ByteString.CopyFrom(supersedes.ToArray());
        }

        message.Tags.Add(a.Tags);
        return message;
    }
}
