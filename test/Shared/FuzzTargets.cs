using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using StemeDb.Sync.Grpc;
using StemeDb.Sync.Grpc.V1;

namespace StemeDb.Sync.Fuzzing;

/// <summary>
/// The fuzz targets: each takes arbitrary bytes, runs them through the library the way a hostile peer would reach
/// it, and throws <see cref="FuzzFindingException"/> (or lets any unexpected exception escape) when the library
/// misbehaves. The same entry points serve the coverage-guided fuzzer (the fuzz harness program) and the corpus
/// replay in the test suite.
/// </summary>
internal static class FuzzTargets
{
    /// <summary>The target names, as given on the harness command line and used as corpus folder names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["assertion", "handler", "symbols"];

    private static readonly Lazy<HandlerHarness> Harness = new(HandlerHarness.Create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Runs <paramref name="target"/> over <paramref name="input"/>.</summary>
    public static void Run(string target, ReadOnlySpan<byte> input)
    {
        switch (target)
        {
            case "assertion":
                Assertion(input);
                break;
            case "handler":
                Handler(input);
                break;
            case "symbols":
                Symbols(input);
                break;
            default:
                throw new ArgumentException($"Unknown fuzz target '{target}'; expected one of: {string.Join(", ", Names)}.", nameof(target));
        }
    }

    /// <summary>
    /// The rateless symbol codec and peeling decoder of <c>ReconcileSymbols</c>: the first byte is how many symbols the
    /// rest should hold. What decodes must re-encode to the same bytes; the decoder, fed those symbols as a peer's
    /// against an empty set, must stop with at most twice as many leaves as symbols plus 64, each once.
    /// </summary>
    public static void Symbols(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var symbols = new Merkle.Internal.CodedSymbol[input[0]];
        bool decoded = Reconciliation.Internal.CodedSymbolCodec.TryDecode(input[1..], symbols, out string? error);
        Check(decoded || !string.IsNullOrEmpty(error), "a rejection without a reason");
        if (!decoded)
        {
            return;
        }

        Check(Reconciliation.Internal.CodedSymbolCodec.Encode(symbols).AsSpan().SequenceEqual(input[1..]), "the symbols re-encode to other bytes");
        var decoder = new Reconciliation.Internal.RibltDecoder(256);
        _ = decoder.Add(symbols, new Merkle.Internal.CodedSymbol[symbols.Length]);
        Check(decoder.DecodedCount <= (2 * symbols.Length) + 64, $"{decoder.DecodedCount} leaves decoded from {symbols.Length} symbols");
        (List<AssertionHash> localOnly, List<AssertionHash> remoteOnly) = decoder.Differences();
        Check(localOnly.Count + remoteOnly.Count == decoder.DecodedCount, "the differences do not list every decoded leaf");
        Check(new HashSet<AssertionHash>([.. localOnly, .. remoteOnly]).Count == decoder.DecodedCount, "a leaf was decoded twice");
    }

    /// <summary>
    /// The rkyv Assertion validator and the full decoder: the content validator, the codec's validator and its decoder
    /// must agree; whatever decodes must re-encode to an archive that validates and decodes to an equal assertion.
    /// </summary>
    public static void Assertion(ReadOnlySpan<byte> input)
    {
        bool contentValid = RkyvAssertionValidator.Instance.TryValidate(input, out string? contentError);
        bool codecValid = AssertionCodec.TryValidate(input, out RkyvError codecError);
        bool decoded = AssertionCodec.TryDecode(input, out Assertion? assertion, out RkyvError decodeError);
        Check(contentValid == codecValid, $"content validator says {contentValid} ({contentError}), codec validator says {codecValid} ({codecError})");
        Check(codecValid == decoded, $"codec validator says {codecValid}, decoder says {decoded} ({decodeError})");
        Check(contentValid || !string.IsNullOrEmpty(contentError), "a rejection without a reason");
        if (!decoded)
        {
            return;
        }

        byte[] encoded = AssertionCodec.Encode(assertion!);
        Check(AssertionCodec.TryValidate(encoded, out RkyvError reencodedError), $"the re-encoded archive does not validate ({reencodedError})");
        Check(AssertionCodec.Decode(encoded).Equals(assertion), "the re-encoded archive decodes to a different assertion");
    }

    /// <summary>
    /// The server over every RPC (v1 and the Reconcile, GossipBatch and ReconcileSymbols extensions) from raw protobuf bytes: the first byte picks the RPC, the rest is parsed with the
    /// generated parser and sent through <see cref="SyncServiceImpl"/> to a real node. Allowed outcomes: an answer, or
    /// a refusal with <c>INVALID_ARGUMENT</c>; a push is stored only when accepted, with a hash that matches its bytes.
    /// </summary>
    public static void Handler(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        HandlerHarness harness = Harness.Value;
        lock (harness)
        {
            harness.Run(input[0], input[1..]);
        }
    }

    private static void Check(bool condition, string finding)
    {
        if (!condition)
        {
            throw new FuzzFindingException(finding);
        }
    }

    private sealed class HandlerHarness
    {
        private readonly SyncNode _node;
        private readonly SyncServiceImpl _service;
        private readonly FuzzCallContext _context = new();

        private HandlerHarness(SyncNode node)
        {
            _node = node;
            _service = new SyncServiceImpl(new SyncServer(node.Handler));
        }

        public static HandlerHarness Create()
        {
            var node = new SyncNode(
                new SyncNodeOptions
                {
                    ContentValidator = RkyvAssertionValidator.Instance,
                    AntiEntropyInterval = Timeout.InfiniteTimeSpan,
                    GossipFanout = 0,
                },
                new InMemoryAssertionStore());
            node.StartAsync().AsTask().GetAwaiter().GetResult();
            return new HandlerHarness(node);
        }

        public void Run(byte selector, ReadOnlySpan<byte> body)
        {
            byte[] bytes = body.ToArray();
            long before = _node.Count;
            try
            {
                switch (selector % 8)
                {
                    case 0:
                        Gossip(GossipRequest.Parser.ParseFrom(bytes), before);
                        return;
                    case 1:
                        Wait(_service.ExchangeRoots(RootExchangeRequest.Parser.ParseFrom(bytes), _context));
                        break;
                    case 2:
                        Fetch(FetchRequest.Parser.ParseFrom(bytes));
                        break;
                    case 3:
                        Wait(_service.Ping(PingRequest.Parser.ParseFrom(bytes), _context));
                        break;
                    case 4:
                        Wait(_service.GetLeaves(GetLeavesRequest.Parser.ParseFrom(bytes), _context));
                        break;
                    case 5:
                        Reconcile(ReconcileRequest.Parser.ParseFrom(bytes));
                        break;
                    case 7:
                        Symbols(StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest.Parser.ParseFrom(bytes));
                        break;
                    default:
                        GossipBatch(GossipBatchRequest.Parser.ParseFrom(bytes), before);
                        return;
                }
            }
            catch (InvalidProtocolBufferException)
            {
                // Not a message: the gRPC layer answers such bodies before the service is reached.
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument)
            {
                // A refusal with a reason is an allowed answer to a bad request.
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted && selector % 8 == 7)
            {
                // ReconcileSymbols past the symbols the node keeps: refused, not computed from every leaf.
            }

            Check(_node.Count == before, $"the store changed from {before} to {_node.Count} on a request that stores nothing");
        }

        private void Gossip(GossipRequest request, long before)
        {
            GossipResponse response = Wait(_service.Gossip(request, _context));
            if (!response.Accepted)
            {
                Check(response.Error.Length > 0, "gossip rejected without a reason");
                Check(_node.Count == before, "a rejected push changed the store");
                return;
            }

            CheckAccepted(request.AssertionHash, request.AssertionData, "push");
        }

        /// <summary>An accepted push: a 32-byte hash of its bytes, a valid archive, and held by the node.</summary>
        private void CheckAccepted(ByteString hashBytes, ByteString data, string what)
        {
            Check(hashBytes.Length == AssertionHash.Length, $"accepted a {what} with a hash of the wrong length");
            var hash = new AssertionHash(hashBytes.Span);
            Check(hash.Matches(data.Span), $"accepted a {what} whose hash does not match its bytes");
            Check(RkyvAssertionValidator.Instance.TryValidate(data.Span, out _), $"accepted a {what} with an invalid archive");
            IReadOnlyList<AssertionRecord> held = _node.Handler.FetchAsync([hashBytes.Memory]).AsTask().GetAwaiter().GetResult();
            Check(held.Count == 1 && held[0].Hash == hash, $"accepted a {what} that the node does not hold");
        }

        private void Reconcile(ReconcileRequest request)
        {
            ReconcileResponse response = Wait(_service.Reconcile(request, _context));
            Check(response.AssertionCount == (ulong)_node.Count, "reconcile answered with a count other than the node's");
            Check(response.Identical || response.TooManyDifferences || response.Table.Length % 44 == 0, "reconcile answered a table that is not whole cells");
        }

        private void Symbols(StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest request)
        {
            var reader = new OneRequest(request);
            var writer = new Answers();
            _service.ReconcileSymbols(reader, writer, _context).GetAwaiter().GetResult();
            Check(writer.Written.Count == 1, $"one request of a symbols stream got {writer.Written.Count} answers");
            StemeDb.Sync.Grpc.V1.ReconcileSymbolsResponse answer = writer.Written[0];
            if (answer.SnapshotGone)
            {
                Check(answer.Symbols.IsEmpty, "a symbols answer with its snapshot gone carries symbols");
                return;
            }

            // A first request (start 0) takes a snapshot of the set now; a later one names an earlier snapshot, which held
            // at most what the node holds now.
            Check(
                request.Start == 0 ? answer.AssertionCount == (ulong)_node.Count : answer.AssertionCount <= (ulong)_node.Count,
                $"a symbols answer with a count of {answer.AssertionCount} for a node of {_node.Count}");
            var symbols = new Merkle.Internal.CodedSymbol[request.Count];
            Check(Reconciliation.Internal.CodedSymbolCodec.TryDecode(answer.Symbols.Span, symbols, out string? error), $"a symbols answer that does not decode: {error}");
        }

        private void GossipBatch(GossipBatchRequest request, long before)
        {
            GossipBatchResponse response = Wait(_service.GossipBatch(request, _context));
            Check(response.Results.Count == request.Assertions.Count, "gossip batch answered a different number of results than pushes");
            int accepted = 0;
            for (int i = 0; i < response.Results.Count; i++)
            {
                GossipResponse result = response.Results[i];
                if (!result.Accepted)
                {
                    Check(result.Error.Length > 0, "a batched push rejected without a reason");
                    continue;
                }

                accepted++;
                CheckAccepted(request.Assertions[i].Hash, request.Assertions[i].Data, "batched push");
            }

            Check(_node.Count - before <= accepted, $"a batch with {accepted} accepted pushes added {_node.Count - before} assertions");
        }

        private void Fetch(FetchRequest request)
        {
            FetchResponse response = Wait(_service.FetchAssertions(request, _context));
            var asked = new HashSet<ByteString>(request.Hashes);
            foreach (AssertionData record in response.Assertions)
            {
                Check(asked.Contains(record.Hash), "fetch returned a record that was not asked for");
                Check(new AssertionHash(record.Hash.Span).Matches(record.Data.Span), "fetch returned a record whose hash does not match its bytes");
            }
        }

        private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();
    }

    /// <summary>A request stream of one message.</summary>
    private sealed class OneRequest(StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest request) : IAsyncStreamReader<StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest>
    {
        private bool _read;

        public StemeDb.Sync.Grpc.V1.ReconcileSymbolsRequest Current => request;

        public Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            bool first = !_read;
            _read = true;
            return Task.FromResult(first);
        }
    }

    /// <summary>A response stream that keeps what is written.</summary>
    private sealed class Answers : IServerStreamWriter<StemeDb.Sync.Grpc.V1.ReconcileSymbolsResponse>
    {
        public List<StemeDb.Sync.Grpc.V1.ReconcileSymbolsResponse> Written { get; } = new();

        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(StemeDb.Sync.Grpc.V1.ReconcileSymbolsResponse message)
        {
            Written.Add(message);
            return Task.CompletedTask;
        }
    }

    private sealed class FuzzCallContext : ServerCallContext
    {
        protected override string MethodCore => "/stemedb.sync.v1.SyncService/Fuzz";

        protected override string HostCore => "localhost";

        protected override string PeerCore => "ipv4:127.0.0.1:1";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore { get; } = new();

        protected override CancellationToken CancellationTokenCore => CancellationToken.None;

        protected override Metadata ResponseTrailersCore { get; } = new();

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore { get; } = new(null, new Dictionary<string, List<AuthProperty>>());

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}

/// <summary>The library broke one of a fuzz target's invariants.</summary>
internal sealed class FuzzFindingException : Exception
{
    public FuzzFindingException()
    {
    }

    public FuzzFindingException(string message)
        : base(message)
    {
    }

    public FuzzFindingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
